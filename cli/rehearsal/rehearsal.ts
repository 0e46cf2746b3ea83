/**
 * `wirewatch rehearse`: the deployment, rehearsed offline from what
 * `cdk synth` produced. The rehearsal stage is synthesised (or an existing
 * cloud assembly is read), its resources are made on this machine, its
 * bundled functions run with their template's environment against local
 * endpoints that enforce their roles, and the sample feeds are polled through
 * it twice: the first cycle must deliver alerts by email (SES) and Slack,
 * the second must send nothing. What every function called, what was denied,
 * what went to a dead-letter queue and which grants no call used make the
 * report.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type FeedServer, startFeedServer } from '../../shared/adapters/local-feed-server.ts';
import {
  AwsEndpoint,
  type CallRecord,
  type KnownCaller,
  type SentEmail,
  type StoredSecret,
} from './aws-endpoint.ts';
import { AssemblyError, loadAssembly } from './cloudformation.ts';
import { GrantUsage } from './iam.ts';
import type { CycleFigures, RehearsalReport } from './report.ts';
import { RehearsalQueues } from './sqs-queues.ts';
import { RehearsalError, RehearsedStage } from './stage.ts';
import {
  closeServer,
  duplicates,
  messageIdOf,
  startSlack,
  unsubscribeLinkOf,
} from './stand-ins.ts';

export { formatReport, type RehearsalReport } from './report.ts';

/** Slack answers the first posts of a rehearsal with 503: each must be delivered later, once. */
const SLACK_OUTAGE_POSTS = 2;

/** A message no function can read, put on each consumed queue to see it dead-lettered with its reason. */
const POISON_BODY = '{"rehearsal":"poison message"}';

/** The port the rehearsal stage's config expects its feeds on (`infra/config/wirewatch.rehearsal.yaml`). */
export const REHEARSAL_FEED_PORT = 47810;

export interface RehearsalOptions {
  repoRoot: string;
  /** Where the assembly, logs, captured messages and report go. */
  outDir: string;
  /** Read this cloud assembly instead of synthesising the rehearsal stage. */
  assemblyDir?: string;
  /** How long to wait for digests that are due within the minute (0 skips the wait). */
  digestWaitMs: number;
  /** Progress lines. */
  log(line: string): void;
}

/** Synthesises the rehearsal stage with the CDK CLI, as `cdk synth` does for ops. */
async function synthesise(repoRoot: string, outDir: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = spawn(
      join(repoRoot, 'node_modules', '.bin', 'cdk'),
      ['synth', '--quiet', '-c', 'stage=rehearsal', '--output', outDir],
      { cwd: repoRoot, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0
        ? resolve()
        : reject(
            new RehearsalError(
              `cdk synth -c stage=rehearsal failed (exit ${code}):\n${stderr.trim()}`,
            ),
          ),
    );
  });
}

function figuresSince(
  stage: RehearsedStage,
  emails: SentEmail[],
  posts: unknown[],
  start: { emails: number; posts: number; invocations: Map<string, number> },
): CycleFigures {
  const invocations: CycleFigures['invocations'] = {};
  for (const fn of stage.functions.values()) {
    const since = fn.invocations.slice(start.invocations.get(fn.name) ?? 0);
    if (since.length === 0) continue;
    invocations[fn.name] = {
      ok: since.filter((i) => i.ok).length,
      failed: since.filter((i) => !i.ok).length,
    };
  }
  return {
    emails: emails.length - start.emails,
    slackPosts: posts.length - start.posts,
    invocations,
  };
}

/** Runs the rehearsal and returns its report; `problems` empty means it passed. */
export async function rehearse(options: RehearsalOptions): Promise<RehearsalReport> {
  const { log } = options;
  // Only what a rehearsal writes is cleared: an assembly given with --assembly may live in outDir.
  for (const output of ['logs', 'ses', 'slack.json', 'report.json']) {
    rmSync(join(options.outDir, output), { recursive: true, force: true });
  }
  mkdirSync(options.outDir, { recursive: true });
  const logDirectory = join(options.outDir, 'logs');
  mkdirSync(logDirectory, { recursive: true });
  let assemblyDir = options.assemblyDir;
  if (!assemblyDir) {
    assemblyDir = join(options.outDir, 'cdk.out');
    log(`synthesising the rehearsal stage into ${assemblyDir} (cdk synth -c stage=rehearsal)`);
    await synthesise(options.repoRoot, assemblyDir);
  }

  const queues = new RehearsalQueues();
  const callers = new Map<string, KnownCaller>();
  const calls: CallRecord[] = [];
  const usage = new GrantUsage();
  const secrets: StoredSecret[] = [];
  const emails: SentEmail[] = [];
  const verifiedIdentities: string[] = [];
  let stage: RehearsedStage | undefined;
  const servers = await RehearsedStage.startServers();
  const endpoint = new AwsEndpoint({
    callers,
    resourcePolicy: (arn) => stage?.resourcePolicy(arn) ?? [],
    usage,
    calls,
    queues,
    secrets,
    verifiedIdentities,
    emails,
    dynamoEndpoint: servers.dynamoEndpoint,
  });
  await endpoint.start();
  const slack = await startSlack(SLACK_OUTAGE_POSTS);
  let feeds: FeedServer | undefined;
  try {
    try {
      feeds = await startFeedServer({
        dir: join(options.repoRoot, 'samples', 'feeds'),
        port: REHEARSAL_FEED_PORT,
      });
    } catch (error) {
      throw new RehearsalError(
        `cannot serve the sample feeds on 127.0.0.1:${REHEARSAL_FEED_PORT}, where the rehearsal stage's config expects them: ${(error as Error).message} (is another rehearsal running?)`,
      );
    }
    const assembly = loadAssembly(assemblyDir, {
      sqsBaseUrl: endpoint.endpoint,
      functionUrlBaseUrl: servers.functionUrlBase,
    });
    log(`stacks: ${assembly.stackNames.join(', ')}`);
    stage = new RehearsedStage({
      assembly,
      endpoint,
      queues,
      secrets,
      callers,
      logDirectory,
      secretValues: (names) => {
        const values: Record<string, string> = {};
        for (const name of names) {
          if (/SLACK.*WEBHOOK/.test(name)) values[name] = slack.url;
          else if (/^UNSUBSCRIBE_SECRET$/.test(name))
            values[name] = randomBytes(32).toString('base64');
        }
        return values;
      },
    });
    await stage.provision(servers);
    // Ops verify the domain the functions send from in SES (README, "Email (SES)").
    for (const fn of assembly.resources.filter((r) => r.type === 'AWS::Lambda::Function')) {
      const from = (fn.properties.Environment as { Variables?: Record<string, string> } | undefined)
        ?.Variables?.SES_FROM;
      const domain = from && /@([^>\s]+)/.exec(from)?.[1]?.toLowerCase();
      if (domain && !verifiedIdentities.includes(domain)) verifiedIdentities.push(domain);
    }
    log(
      `functions: ${[...stage.functions.values()].map((f) => f.name).join(', ')}; secret keys set: ${stage.secretNames.join(', ') || 'none'}; SES identity verified: ${verifiedIdentities.join(', ') || 'none'}`,
    );

    const schedules = stage.scheduleNames();
    const poll = schedules.find((s) => /poll/i.test(s));
    const digest = schedules.find((s) => /digest/i.test(s));
    if (!poll) throw new RehearsalError('the assembly has no poll schedule');
    const cycles: CycleFigures[] = [];
    const problems: string[] = [];

    let digestsSent = 0;
    const runCycle = async (label: string, waitForDigests: boolean): Promise<CycleFigures> => {
      const start = {
        emails: emails.length,
        posts: slack.posts.length,
        invocations: new Map(
          [...(stage as RehearsedStage).functions.values()].map((f) => [
            f.name,
            f.invocations.length,
          ]),
        ),
      };
      const s = stage as RehearsedStage;
      log(`${label}: firing ${poll}`);
      await s.fireSchedule(poll);
      await s.settle();
      const fireDigest = async (): Promise<void> => {
        if (!digest) return;
        const firing = await s.fireSchedule(digest);
        digestsSent += Number(
          (firing.result as { digestsSent?: number } | undefined)?.digestsSent ?? 0,
        );
        await s.settle();
      };
      await fireDigest();
      if (waitForDigests && digest) {
        // The digest subscriber's alerts go out a minute after the next whole minute; the
        // 15-minute schedule is fired every 15 s until a digest was sent (what the digest
        // function returns is invisible to the scheduler on AWS; the rehearsal looks).
        const deadline = Date.now() + options.digestWaitMs;
        while (digestsSent === 0 && Date.now() < deadline) {
          log(
            `${label}: waiting for the digest subscriber's digest; firing ${digest} again in 15 s`,
          );
          await new Promise((resolve) => setTimeout(resolve, 15_000));
          await fireDigest();
        }
        if (digestsSent === 0)
          problems.push(`no digest was sent within ${options.digestWaitMs / 1000} s`);
      }
      const figures = figuresSince(s, emails, slack.posts, start);
      log(`${label}: ${figures.emails} email(s) through SES, ${figures.slackPosts} Slack post(s)`);
      return figures;
    };

    cycles.push(await runCycle('cycle 1', options.digestWaitMs > 0));

    let unsubscribe: RehearsalReport['unsubscribe'];
    const link = unsubscribeLinkOf(emails);
    if (link) {
      const get = await fetch(link);
      await get.text();
      const post = await fetch(link, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: 'List-Unsubscribe=One-Click',
      });
      await post.text();
      const table = assembly.resources.find(
        (r) => r.type === 'AWS::DynamoDB::Table' && /Unsubscribes/.test(r.logicalId),
      );
      const recorded = table ? (await stage.scanTable(table.ref)).length : 0;
      unsubscribe = { link, get: get.status, post: post.status, recorded };
      log(
        `unsubscribe link: GET ${get.status}, one-click POST ${post.status}, ${recorded} unsubscription(s) recorded`,
      );
      if (get.status !== 200 || post.status !== 200 || recorded === 0)
        problems.push('the one-click unsubscribe link did not work');
    } else {
      problems.push('no email carried a List-Unsubscribe link');
    }

    cycles.push(await runCycle('cycle 2', false));

    // Poison messages: each consumer must dead-letter them at once, with the reason.
    for (const mapping of stage.mappings) queues.send(mapping.queue, POISON_BODY);
    await stage.settle();
    const poison: RehearsalReport['poison'] = [];
    for (const mapping of stage.mappings) {
      const target = mapping.queue.settings.redrive?.deadLetterTargetArn;
      const letter = target
        ? queues.get(target).messages.find((m) => m.body === POISON_BODY)
        : undefined;
      const entry = {
        queue: stage.describe(mapping.queue.settings.arn),
        consumer: mapping.function.name,
        reason: letter?.messageAttributes.reason?.StringValue ?? '',
        receives: letter?.receiveCount ?? 0,
      };
      poison.push(entry);
      log(
        `poison message on ${entry.queue}: ${letter ? `dead-lettered by ${entry.consumer}: ${entry.reason}` : 'not dead-lettered'}`,
      );
      if (!letter || !entry.reason) {
        problems.push(
          `a poison message on ${entry.queue} was not dead-lettered with a reason by ${entry.consumer}`,
        );
      }
    }

    const slackDuplicates = duplicates(slack.posts.map((post) => JSON.stringify(post)));
    const emailDuplicates = duplicates(emails.map(messageIdOf));
    if (slack.refused() < SLACK_OUTAGE_POSTS) problems.push('the Slack outage was never hit');
    if (slackDuplicates + emailDuplicates > 0) {
      problems.push(
        `${slackDuplicates} Slack post(s) and ${emailDuplicates} email(s) were sent twice`,
      );
    }

    const first = cycles[0] as CycleFigures;
    const second = cycles[1] as CycleFigures;
    if (first.emails === 0) problems.push('no email was delivered');
    if (first.slackPosts === 0) problems.push('no Slack message was delivered');
    if (second.emails + second.slackPosts > 0) {
      problems.push(
        `the second cycle sent ${second.emails} email(s) and ${second.slackPosts} Slack post(s); it must send nothing`,
      );
    }

    const failedInvocations = [...stage.functions.values()].flatMap((fn) =>
      fn.invocations
        .filter((i) => !i.ok)
        .map((i) => ({
          function: fn.name,
          source: i.source,
          error: `${i.error?.errorType}: ${i.error?.errorMessage}`,
        })),
    );
    if (failedInvocations.length > 0)
      problems.push(`${failedInvocations.length} invocation(s) failed`);
    const deadLetters = stage.deadLetterQueues().flatMap((queue) =>
      queue.messages
        .filter((m) => m.body !== POISON_BODY)
        .map((m) => ({
          queue: (stage as RehearsedStage).describe(queue.settings.arn),
          body: m.body.slice(0, 300),
          reason:
            m.messageAttributes.reason?.StringValue ??
            m.messageAttributes.ErrorMessage?.StringValue ??
            `received ${m.receiveCount} times without success`,
        })),
    );
    if (deadLetters.length > 0) problems.push(`${deadLetters.length} dead letter(s)`);

    const grouped = new Map<string, RehearsalReport['calls'][number]>();
    for (const call of calls) {
      const resource = stage.describe(call.resource);
      const key = `${call.caller}\u0000${call.action}\u0000${resource}`;
      const entry = grouped.get(key) ?? {
        caller: call.caller,
        action: call.action,
        resource,
        allowed: 0,
        denied: 0,
      };
      if (call.allowed) entry.allowed += 1;
      else {
        entry.denied += 1;
        entry.message ??= call.message;
      }
      grouped.set(key, entry);
    }
    const callList = [...grouped.values()].sort(
      (a, b) =>
        a.caller.localeCompare(b.caller) ||
        a.action.localeCompare(b.action) ||
        a.resource.localeCompare(b.resource),
    );
    const denied = callList.filter((c) => c.denied > 0);
    if (denied.length > 0)
      problems.push(`${denied.reduce((n, c) => n + c.denied, 0)} call(s) denied`);

    const unusedGrants = [...stage.roles.values()].flatMap((role) =>
      usage.unused(role.statements).map((grant) => ({
        role: role.name,
        action: grant.action,
        resource: (stage as RehearsedStage).describe(grant.resource),
        statement: grant.source,
      })),
    );
    const coldStartsMs = Object.fromEntries(
      [...stage.functions.values()].flatMap((fn) => {
        const cold = fn.invocations.find((i) => i.coldStartMs !== undefined);
        return cold?.coldStartMs !== undefined ? [[fn.name, cold.coldStartMs]] : [];
      }),
    );
    const resources = [
      ...assembly.resources
        .filter((r) => r.type === 'AWS::DynamoDB::Table')
        .map((table) => {
          const p = table.properties as {
            KeySchema?: Array<{ AttributeName: string }>;
            GlobalSecondaryIndexes?: Array<{ IndexName: string }>;
            TimeToLiveSpecification?: { AttributeName?: string };
          };
          const keys = (p.KeySchema ?? []).map((k) => k.AttributeName).join(' + ');
          const indexes = (p.GlobalSecondaryIndexes ?? []).map((i) => i.IndexName);
          const ttl = p.TimeToLiveSpecification?.AttributeName;
          return `table ${stage?.describe(table.attributes.Arn ?? '')}: ${keys}${indexes.length ? `, index ${indexes.join(', ')}` : ''}${ttl ? `, TTL ${ttl}` : ''}`;
        }),
      ...queues.all().map((queue) => {
        const redrive = queue.settings.redrive;
        return `queue ${stage?.describe(queue.settings.arn)}: visibility ${queue.settings.visibilityTimeoutSeconds} s${redrive ? `, to ${stage?.describe(redrive.deadLetterTargetArn)} after ${redrive.maxReceiveCount} receives` : ''}`;
      }),
    ];
    const report: RehearsalReport = {
      assembly: assemblyDir,
      stacks: assembly.stackNames,
      resources,
      deliveries: { email: emails.length, slack: slack.posts.length },
      cycles,
      ...(unsubscribe ? { unsubscribe } : {}),
      slackOutage: { refused: slack.refused(), duplicates: slackDuplicates },
      emailDuplicates,
      poison,
      failedInvocations,
      deadLetters,
      calls: callList,
      unusedGrants,
      coldStartsMs,
      queueTimeSkippedSeconds: Math.round(queues.skippedMs / 1000),
      problems,
    };
    mkdirSync(join(options.outDir, 'ses'), { recursive: true });
    for (const email of emails)
      writeFileSync(join(options.outDir, 'ses', `${email.messageId}.eml`), email.raw);
    writeFileSync(join(options.outDir, 'slack.json'), `${JSON.stringify(slack.posts, null, 2)}\n`);
    writeFileSync(join(options.outDir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
    return report;
  } catch (error) {
    if (error instanceof AssemblyError) throw new RehearsalError(error.message);
    throw error;
  } finally {
    await stage?.stop();
    await endpoint.stop();
    await closeServer(slack.server);
    await feeds?.stop();
    if (!stage) {
      for (const server of [servers.dynalite, servers.urlServer]) await closeServer(server);
    }
  }
}

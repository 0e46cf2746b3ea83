/**
 * The deployed path, run: the rehearsal stage is synthesised with its esbuild
 * bundles, and `rehearse` runs the cloud assembly offline with every AWS call
 * checked against the calling role. What the roles grant is asserted against
 * what the functions were seen to call, not against a hand-written list.
 */
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type RehearsalReport, rehearse } from '../../cli/rehearsal/rehearsal.ts';
import { REPO_ROOT } from '../../infra/constructs/wirewatch-function.ts';
import { synthStage } from './synth-stage.ts';

/**
 * Grants a clean rehearsal cannot use: each serves a failure path (a
 * dead-letter queue of scheduled runs, an undo after a failed send, a digest
 * that fails or is claimed twice, quiet hours ending) or is how the CDK
 * writes an invoke grant. Anything else granted and never called fails the
 * test: least privilege is what the functions do.
 */
const FAILURE_PATH_GRANTS: Record<string, string> = {
  'Poller sqs:SendMessage ScheduleDeadLetterQueue': 'a failed scheduled run, kept by Lambda',
  'Digest sqs:SendMessage ScheduleDeadLetterQueue': 'a failed scheduled run, kept by Lambda',
  'Digest dynamodb:GetItem AlertLedgerTable': 'a digest claimed by another run: its record is read',
  'Digest dynamodb:DeleteItem AlertLedgerTable':
    'a digest whose send failed is released for a retry',
  'Digest sqs:SendMessage AlertsQueue':
    'alerts held by quiet hours are released to the alerts queue',
  'Digest sqs:SendMessage AlertsDeadLetterQueue':
    'a digest entry that cannot be read, or a destination that rejects it',
  'Classifier sqs:SendMessage ItemsQueue':
    'an item still failing on its last receive is queued again',
  'Notifier sqs:SendMessage AlertsQueue':
    'an alert still failing on its last receive (an outage) is queued again',
  'DigestSchedule lambda:InvokeFunction Digest:*': "grantInvoke's versions and aliases",
  'DigestSchedule sqs:SendMessage ScheduleDeadLetterQueue': 'the scheduler could not invoke',
  'PollSchedule lambda:InvokeFunction Poller:*': "grantInvoke's versions and aliases",
  'PollSchedule sqs:SendMessage ScheduleDeadLetterQueue': 'the scheduler could not invoke',
};

let assemblyDir: string;
let report: RehearsalReport;

beforeAll(async () => {
  assemblyDir = synthStage('rehearsal').assembly.directory;
  report = await rehearse({
    repoRoot: REPO_ROOT,
    outDir: mkdtempSync(join(tmpdir(), 'wirewatch-rehearsal-')),
    assemblyDir,
    digestWaitMs: 180_000,
    log: () => {},
  });
}, 360_000);

interface TemplateResource {
  Type: string;
  Properties: {
    PolicyDocument?: { Statement: Array<{ Action: string | string[] }> };
    Environment?: { Variables: Record<string, unknown> };
  };
  Metadata?: Record<string, string>;
}

/**
 * Rehearses a copy of the synthesised assembly whose service template
 * `edit` changed, with no digest wait; `find` picks a resource by type and
 * construct id.
 */
async function rehearseEdited(
  edit: (find: (type: string, construct: string) => TemplateResource | undefined) => void,
): Promise<RehearsalReport> {
  const broken = mkdtempSync(join(tmpdir(), 'wirewatch-broken-assembly-'));
  cpSync(assemblyDir, broken, { recursive: true });
  const templateFile = join(broken, 'WirewatchRehearsalService.template.json');
  const template = JSON.parse(readFileSync(templateFile, 'utf8')) as {
    Resources: Record<string, TemplateResource>;
  };
  edit((type, construct) =>
    Object.values(template.Resources).find(
      (r) => r.Type === type && r.Metadata?.['aws:cdk:path']?.includes(`/${construct}/`),
    ),
  );
  writeFileSync(templateFile, JSON.stringify(template));
  return rehearse({
    repoRoot: REPO_ROOT,
    outDir: mkdtempSync(join(tmpdir(), 'wirewatch-rehearsal-')),
    assemblyDir: broken,
    digestWaitMs: 0,
    log: () => {},
  });
}

describe('the rehearsed deployment', () => {
  it('delivers alerts by email through SES and by Slack, with no call denied, no dead letter and no failed invocation', () => {
    expect(report.problems).toEqual([]);
    expect(report.calls.filter((call) => call.denied > 0)).toEqual([]);
    expect(report.deadLetters).toEqual([]);
    expect(report.failedInvocations).toEqual([]);
    expect(report.cycles[0]?.emails).toBeGreaterThan(0);
    expect(report.cycles[0]?.slackPosts).toBeGreaterThan(0);
  });

  it('sends nothing when the same feeds are polled again', () => {
    expect(report.cycles[1]).toMatchObject({ emails: 0, slackPosts: 0 });
    expect(report.cycles[1]?.invocations.Poller).toEqual({ ok: 1, failed: 0 });
  });

  it('sends the digest through the digest function and records a one-click unsubscription through the function URL', () => {
    expect(report.cycles[0]?.invocations.Digest?.ok).toBeGreaterThan(0);
    expect(report.calls).toContainEqual(
      expect.objectContaining({ caller: 'Digest', action: 'ses:SendEmail', denied: 0 }),
    );
    expect(report.unsubscribe).toMatchObject({ get: 200, post: 200, recorded: 1 });
  });

  it('delivers the Slack posts refused during an outage once each, on a retry', () => {
    expect(report.slackOutage.refused).toBe(2);
    expect(report.slackOutage.duplicates).toBe(0);
    expect(report.emailDuplicates).toBe(0);
  });

  it('dead-letters a poison message on each consumed queue at once, with the reason', () => {
    expect(report.poison.map((p) => [p.queue, p.consumer])).toEqual([
      ['ItemsQueue', 'Classifier'],
      ['AlertsQueue', 'Notifier'],
    ]);
    for (const poison of report.poison) expect(poison.reason).toMatch(/^invalid message/);
  });

  it('grants each role only what its calls used, besides the failure paths a clean run cannot reach', () => {
    const unused = report.unusedGrants.map((g) => `${g.role} ${g.action} ${g.resource}`).sort();
    expect(unused).toEqual(Object.keys(FAILURE_PATH_GRANTS).sort());
  });
});

describe('a grant removed from the synthesised template', () => {
  it('fails the rehearsal with the function, action and resource named', async () => {
    let removed = 0;

    const broke = await rehearseEdited((find) => {
      const statements = find('AWS::IAM::Policy', 'Classifier')?.Properties.PolicyDocument
        ?.Statement;
      for (const statement of statements ?? []) {
        const actions = [statement.Action].flat();
        statement.Action = actions.filter((a) => a !== 'dynamodb:BatchWriteItem');
        removed += actions.length - statement.Action.length;
      }
    });

    expect(removed).toBe(1);
    expect(broke.problems.join('; ')).toMatch(/call\(s\) denied/);
    const denied = broke.calls.filter((call) => call.denied > 0);
    expect(denied.map((c) => [c.caller, c.action, c.resource])).toEqual([
      ['Classifier', 'dynamodb:BatchWriteItem', 'StoryFingerprintsTable'],
    ]);
    expect(denied[0]?.message).toMatch(
      /assumed-role\/.*ClassifierRole.* is not authorized to perform: dynamodb:BatchWriteItem on resource: arn:aws:dynamodb:.*:table\/.*StoryFingerprintsTable/,
    );
    // Every item the classifier could not save ends in its dead-letter queue, as on AWS.
    // (Other outlets' copies still alert: they join the story through its claim,
    // a PutItem the role still has.)
    expect(broke.deadLetters.length).toBeGreaterThan(0);
  }, 300_000);
});

describe('a scheduled run that fails', () => {
  it('is kept in the schedule dead-letter queue with the error, sent with the function role', async () => {
    let removed: unknown;

    const broke = await rehearseEdited((find) => {
      const variables = find('AWS::Lambda::Function', 'Poller')?.Properties.Environment?.Variables;
      removed = variables?.POLL_EVERY_SECONDS;
      delete variables?.POLL_EVERY_SECONDS;
    });

    expect(removed).toBeDefined();
    expect(broke.failedInvocations).toContainEqual(
      expect.objectContaining({
        function: 'Poller',
        error: expect.stringMatching(/POLL_EVERY_SECONDS environment variable is not set/),
      }),
    );
    expect(broke.deadLetters).toContainEqual(
      expect.objectContaining({
        queue: 'ScheduleDeadLetterQueue',
        reason: expect.stringMatching(/POLL_EVERY_SECONDS environment variable is not set/),
      }),
    );
    expect(broke.calls).toContainEqual(
      expect.objectContaining({
        caller: 'Poller',
        action: 'sqs:SendMessage',
        resource: 'ScheduleDeadLetterQueue',
        denied: 0,
      }),
    );
    expect(broke.problems.join('; ')).toMatch(/dead letter/);
  }, 300_000);
});

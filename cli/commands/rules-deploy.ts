/**
 * `wirewatch rules push|pull|history`: the watch file in a deployment's rules
 * table. The table is found from the stack (`--stack`, its `RulesTableName`
 * output) or the stage's SSM parameter (`--stage`); `--table` with
 * `--endpoint` and `--data-dir` reach a local table the same way.
 */
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { createInterface } from 'node:readline/promises';
import { promisify } from 'node:util';
import type { Command } from 'commander';
import pc from 'picocolors';
import { tableNameOutputKey, tableNameParameter } from '../../shared/adapters/tables.ts';
import type { RuleStore, RuleVersion } from '../../shared/ports.ts';
import {
  diffWatchFiles,
  isEmptyDiff,
  RuleSetTooLargeError,
  RuleVersionConflictError,
  sourceSha256,
  type WatchFileDiff,
} from '../../shared/rules/rule-versions.ts';
import { DEFAULT_RULES_REFRESH_MS } from '../../shared/rules/table-watch-source.ts';
import { parseWatchFile } from '../../shared/rules/watch-file.ts';
import { CommandFailure, run } from '../command-failure.ts';
import { printDiagnostics } from '../diagnostics-output.ts';

const MAX_MESSAGE_LENGTH = 500;

/** How a command names the rules table it works on: exactly one of stack, stage, table, data dir. */
interface TargetOptions {
  stack?: string;
  stage?: string;
  table?: string;
  endpoint?: string;
  dataDir?: string;
  region?: string;
}

interface PushOptions extends TargetOptions {
  message: string;
  author?: string;
  yes?: boolean;
}

/** A rules table opened for one command. */
interface Target {
  store: RuleStore;
  /** Names the table for messages, e.g. `wirewatch-prod-RulesTable (stack wirewatch-prod)`. */
  label: string;
  close(): Promise<void>;
}

/** Adds `push`, `pull` and `history` to the `rules` command. */
export function registerRulesDeployCommands(rules: Command): void {
  withTarget(
    rules
      .command('push')
      .description(
        'validate a watch file, show what it changes against the live rules, and make it the live version',
      )
      .argument('<file>', 'watch file')
      .requiredOption(
        '-m, --message <text>',
        'why: recorded with the version, like a commit message',
      )
      .option('--author <name>', 'who pushes (default: git config user.name, else the OS user)')
      .option('-y, --yes', 'push without asking (required when not on a terminal)'),
  ).action(run(explainingAwsErrors(pushRules)));

  withTarget(
    rules
      .command('pull')
      .description('print the YAML of the live version (or of --version N), byte for byte')
      .option('--version <n>', 'version number (default: the live one)')
      .option('-o, --out <file>', 'write it to this file instead of stdout'),
  ).action(run(explainingAwsErrors(pullRules)));

  withTarget(
    rules
      .command('history')
      .description('list the pushed versions, newest first, the live one marked with *')
      .option('--limit <n>', 'at most this many versions', '20'),
  ).action(run(explainingAwsErrors(showHistory)));
}

/**
 * Turns the AWS errors a person can act on (no credentials, no such table, no
 * permission) into one line instead of a stack trace.
 */
function explainingAwsErrors<A extends unknown[]>(
  action: (...args: A) => Promise<void>,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await action(...args);
    } catch (error) {
      if (!(error instanceof Error)) throw error;
      if (error.name === 'ResourceNotFoundException') {
        throw new CommandFailure(
          `the rules table does not exist (check the table name, the region and that the stack is deployed): ${error.message}`,
          2,
        );
      }
      if (error.name === 'CredentialsProviderError') {
        throw new CommandFailure(`no AWS credentials: ${error.message}`, 2);
      }
      if ('$metadata' in error) {
        throw new CommandFailure(`AWS refused the request: ${error.name}: ${error.message}`, 2);
      }
      throw error;
    }
  };
}

function withTarget(command: Command): Command {
  return command
    .option(
      '--stack <name>',
      `deployed stack: the rules table is its ${tableNameOutputKey('rules')} output`,
    )
    .option(
      '--stage <stage>',
      `deployed stage: the table is in SSM ${tableNameParameter('<stage>', 'rules')}`,
    )
    .option('--region <region>', 'AWS region (default: from the AWS environment)')
    .option('--table <name>', 'the rules table by name (with --endpoint for a local DynamoDB)')
    .option(
      '--endpoint <url>',
      'DynamoDB endpoint, e.g. http://127.0.0.1:8000 (needs no AWS credentials or region)',
    )
    .option('-d, --data-dir <dir>', 'the embedded stack of this data directory (wirewatch run)');
}

async function pushRules(file: string, options: PushOptions): Promise<void> {
  const message = options.message.trim();
  if (message === '') throw new CommandFailure('--message must say why (it is recorded)', 2);
  if (message.length > MAX_MESSAGE_LENGTH) {
    throw new CommandFailure(`--message is limited to ${MAX_MESSAGE_LENGTH} characters`, 2);
  }
  checkTargetOptions(options);
  const source = await readFile(file, 'utf8');
  const watchFile = parseWatchFile(source, file);
  const errors = printDiagnostics(watchFile);
  if (errors > 0) {
    throw new CommandFailure(
      `${file}: ${errors} error${errors === 1 ? '' : 's'}; nothing pushed`,
      1,
    );
  }
  const author = options.author?.trim() || (await defaultAuthor());

  const target = await openTarget(options);
  try {
    const live = await target.store.current();
    if (live && live.sha256 === sourceSha256(source)) {
      console.log(`${file} is identical to live version ${live.version}; nothing to push`);
      return;
    }
    console.log(describeLive(live, target.label));
    const liveFile = live ? parseWatchFile(live.source, `version ${live.version}`) : undefined;
    if (liveFile?.diagnostics.some((d) => d.severity === 'error')) {
      console.log(
        pc.yellow(
          `  version ${live?.version} has errors for this version of wirewatch; the diff shows only its valid watches`,
        ),
      );
    }
    const diff = diffWatchFiles(liveFile, watchFile);
    for (const line of formatDiff(diff)) console.log(line);

    if (!options.yes) {
      if (!process.stdin.isTTY) {
        throw new CommandFailure(
          'not pushed: stdin is not a terminal, so nobody can confirm; add --yes to push anyway',
          2,
        );
      }
      if (!(await confirm(`Push ${file} as the live rules of ${target.label}? [y/N] `))) {
        throw new CommandFailure('not pushed', 1);
      }
    }

    const pushed = await target.store.push(
      { source, author, message, watchCount: watchFile.watches.length },
      live?.version,
    );
    console.log(
      `pushed version ${pushed.version} (${pushed.watchCount} watches, by ${pushed.author}); ` +
        `the classifier runs it within ${DEFAULT_RULES_REFRESH_MS / 1000} seconds`,
    );
  } catch (error) {
    if (error instanceof RuleVersionConflictError) throw new CommandFailure(error.message, 3);
    if (error instanceof RuleSetTooLargeError)
      throw new CommandFailure(`${file}: ${error.message}`, 1);
    throw error;
  } finally {
    await target.close();
  }
}

async function pullRules(
  options: TargetOptions & { version?: string; out?: string },
): Promise<void> {
  checkTargetOptions(options);
  const wanted =
    options.version === undefined ? undefined : positiveInteger(options.version, '--version');
  const target = await openTarget(options);
  try {
    const version =
      wanted === undefined ? await target.store.current() : await target.store.get(wanted);
    if (!version) {
      throw new CommandFailure(
        wanted === undefined
          ? `nothing has been pushed to ${target.label} yet`
          : `${target.label} has no version ${wanted} (see wirewatch rules history)`,
        1,
      );
    }
    if (options.out) {
      await writeFile(options.out, version.source, 'utf8');
      console.log(
        `wrote version ${version.version} (${version.watchCount} watches, by ${version.author}, ${version.createdAt}) to ${options.out}`,
      );
    } else {
      process.stdout.write(version.source);
    }
  } finally {
    await target.close();
  }
}

async function showHistory(options: TargetOptions & { limit: string }): Promise<void> {
  checkTargetOptions(options);
  const limit = positiveInteger(options.limit, '--limit');
  const target = await openTarget(options);
  try {
    const [current, versions] = await Promise.all([
      target.store.currentVersion(),
      target.store.history(limit),
    ]);
    if (versions.length === 0) {
      console.log(`nothing has been pushed to ${target.label} yet`);
      return;
    }
    const rows = versions.map((v) => [
      v.version === current ? '*' : ' ',
      String(v.version),
      v.createdAt.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC'),
      v.author,
      String(v.watchCount),
      v.message,
    ]);
    const header = [' ', 'version', 'pushed', 'by', 'watches', 'message'];
    const widths = header.map((h, i) =>
      Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)),
    );
    const line = (cells: string[]): string =>
      cells
        .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd();
    console.log(pc.bold(line(header)));
    for (const row of rows) console.log(line(row));
  } finally {
    await target.close();
  }
}

function checkTargetOptions(options: TargetOptions): void {
  const given = (['stack', 'stage', 'table', 'dataDir'] as const).filter(
    (k) => options[k] !== undefined,
  );
  if (given.length !== 1) {
    throw new CommandFailure(
      'say which deployment: --stack <name>, --stage <stage>, --table <name> [--endpoint <url>] or --data-dir <dir>' +
        (given.length > 1 ? ` (got ${given.map(optionName).join(' and ')})` : ''),
      2,
    );
  }
  if (options.endpoint !== undefined && options.table === undefined) {
    throw new CommandFailure('--endpoint goes with --table', 2);
  }
}

function optionName(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/**
 * Opens the rules table the options name. The adapters are loaded here, not
 * at the top, so that `rules check` and friends never load the AWS SDK.
 */
async function openTarget(options: TargetOptions): Promise<Target> {
  if (options.dataDir !== undefined) {
    const [{ startEmbeddedDynamo }, { DynamoRuleStore }] = await Promise.all([
      import('../../shared/adapters/embedded-dynamodb.ts'),
      import('../../shared/adapters/rule-store.ts'),
    ]);
    const embedded = await startEmbeddedDynamo({ dataDir: options.dataDir });
    return {
      store: new DynamoRuleStore(embedded.documentClient, embedded.tableNames.rules),
      label: `${embedded.tableNames.rules} (data dir ${options.dataDir})`,
      close: () => embedded.stop(),
    };
  }
  const [lookup, { openDynamoRuleStore }] = await Promise.all([
    import('../../shared/adapters/stack-lookup.ts'),
    import('../../shared/adapters/rule-store.ts'),
  ]);
  const region = options.region ? { region: options.region } : {};
  let tableName: string;
  let label: string;
  try {
    if (options.stack !== undefined) {
      tableName = await lookup.rulesTableFromStack(options.stack, region);
      label = `${tableName} (stack ${options.stack})`;
    } else if (options.stage !== undefined) {
      tableName = await lookup.rulesTableFromSsm(options.stage, region);
      label = `${tableName} (stage ${options.stage})`;
    } else {
      tableName = options.table as string;
      label = options.endpoint ? `${tableName} at ${options.endpoint}` : tableName;
    }
  } catch (error) {
    if (error instanceof lookup.StackLookupError) throw new CommandFailure(error.message, 2);
    throw error;
  }
  const { store, close } = openDynamoRuleStore({
    tableName,
    ...region,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
  });
  return { store, label, close: async () => close() };
}

function describeLive(live: RuleVersion | undefined, label: string): string {
  if (!live) return `${label}: nothing is live yet; this push creates the first version`;
  return (
    `${label}: live is version ${live.version} (${live.watchCount} watches, ` +
    `by ${live.author}, ${live.createdAt}): "${live.message}"`
  );
}

/** The diff as lines: `+` added, `-` removed, `~` changed with each field's old → new. */
export function formatDiff(diff: WatchFileDiff): string[] {
  if (isEmptyDiff(diff)) return ['  no watch or list changes (only formatting or comments)'];
  const lines: string[] = [];
  for (const w of diff.added) lines.push(pc.green(`  + ${w.id}  ${w.name}`));
  for (const w of diff.removed) lines.push(pc.red(`  - ${w.id}  ${w.name}`));
  for (const w of diff.changed) {
    lines.push(pc.yellow(`  ~ ${w.id}  ${w.name}`));
    for (const c of w.changes) {
      lines.push(
        c.field === 'lists'
          ? `      uses changed ${c.after}`
          : `      ${c.field}: ${quote(c.before)} → ${quote(c.after)}`,
      );
    }
  }
  const lists = (names: string[]): string =>
    `list${names.length === 1 ? '' : 's'} ${names.map((name) => `@${name}`).join(' ')}`;
  if (diff.listsAdded.length > 0) lines.push(pc.green(`  + ${lists(diff.listsAdded)}`));
  if (diff.listsRemoved.length > 0) lines.push(pc.red(`  - ${lists(diff.listsRemoved)}`));
  for (const l of diff.listsChanged) {
    const parts = [...l.added.map((e) => `+${e}`), ...l.removed.map((e) => `-${e}`)];
    lines.push(pc.yellow(`  ~ list @${l.name}: ${parts.join(' ')}`));
  }
  lines.push(
    `  ${diff.added.length} added, ${diff.removed.length} removed, ${diff.changed.length} changed`,
  );
  return lines;
}

function quote(value: string | undefined): string {
  return value === undefined ? '(none)' : `'${value}'`;
}

async function confirm(question: string): Promise<boolean> {
  const prompt = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return /^y(es)?$/i.test((await prompt.question(question)).trim());
  } finally {
    prompt.close();
  }
}

/** `git config user.name`, else the name of the OS user. */
async function defaultAuthor(): Promise<string> {
  try {
    const { stdout } = await promisify(execFile)('git', ['config', 'user.name']);
    if (stdout.trim() !== '') return stdout.trim();
  } catch {
    // Not a git user (or no git): the OS user is the next best name.
  }
  return userInfo().username;
}

function positiveInteger(text: string, option: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1)
    throw new CommandFailure(`${option} must be a whole number ≥ 1`, 2);
  return n;
}

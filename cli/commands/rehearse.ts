/**
 * `wirewatch rehearse`: runs the synthesised deployment offline, every AWS
 * call checked against the calling function's role (see cli/rehearsal/).
 * Exit 0 when it passed, 1 when something was denied, dead-lettered, failed
 * or not delivered, 2 when it could not run.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { CommandFailure, run } from '../command-failure.ts';
import { formatReport, rehearse } from '../rehearsal/rehearsal.ts';
import { RehearsalError } from '../rehearsal/stage.ts';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface RehearseOptions {
  out: string;
  assembly?: string;
  digestWait: string;
  json?: boolean;
}

export function registerRehearseCommand(program: Command): void {
  program
    .command('rehearse')
    .description(
      'synthesise the rehearsal stage and run it offline from the cloud assembly: bundled functions, ' +
        'template environment, IAM policies enforced on every AWS call',
    )
    .option(
      '-o, --out <dir>',
      'where the assembly, logs, sent messages and report.json go',
      '.wirewatch/rehearsal',
    )
    .option(
      '--assembly <dir>',
      'rehearse this cloud assembly (cdk synth --output) instead of synthesising',
    )
    .option(
      '--digest-wait <seconds>',
      'how long to wait for the digests queued in the first cycle (0: do not wait)',
      '180',
    )
    .option('--json', 'print the report as JSON')
    .action(
      run(async (options: RehearseOptions) => {
        const digestWaitSeconds = Number(options.digestWait);
        if (!Number.isFinite(digestWaitSeconds) || digestWaitSeconds < 0) {
          throw new CommandFailure(`--digest-wait: expected seconds, got ${options.digestWait}`, 2);
        }
        try {
          const report = await rehearse({
            repoRoot: REPO_ROOT,
            outDir: resolve(options.out),
            ...(options.assembly ? { assemblyDir: resolve(options.assembly) } : {}),
            digestWaitMs: digestWaitSeconds * 1000,
            log: (line) => {
              if (!options.json) console.error(line);
            },
          });
          console.log(options.json ? JSON.stringify(report, null, 2) : formatReport(report));
          process.exitCode = report.problems.length === 0 ? 0 : 1;
        } catch (error) {
          if (error instanceof RehearsalError)
            throw new CommandFailure(`wirewatch rehearse: ${error.message}`, 2);
          throw error;
        }
      }),
    );
}

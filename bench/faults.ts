/**
 * `npm run bench -- faults [--schedules 1000] [--seed S] [--parallel 2] [--replay SEED...]`:
 * seeded random fault schedules over the embedded stack's real code path
 * (see `bench/faults/harness.ts`), each checked against a fault-free run of
 * the same workload. Prints one JSON line:
 * `{"schedules","faults":{...by kind},"lost","duplicates","duplicates_unexplained","stuck","unreadable",...}`
 * and, on a violation, the schedule seeds that reproduce it (`--replay`).
 * Exits 1 when any invariant was violated.
 */
import { parseArgs } from 'node:util';
import { runFaultBench } from './faults/harness.ts';

const USAGE =
  'usage: npm run bench -- faults [--schedules 1000] [--seed 1] [--parallel 2] [--replay SEED...] [--verbose]';

function parseFaultArgs(args: string[]) {
  return parseArgs({
    args,
    options: {
      schedules: { type: 'string', default: '1000' },
      seed: { type: 'string', default: '1' },
      parallel: { type: 'string', default: '2' },
      replay: { type: 'string', multiple: true },
      verbose: { type: 'boolean', default: false },
    },
  }).values;
}

export async function run(args: string[]): Promise<void> {
  let values: ReturnType<typeof parseFaultArgs>;
  try {
    values = parseFaultArgs(args);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  const schedules = Number(values.schedules);
  const seed = Number(values.seed);
  const parallel = Number(values.parallel);
  for (const [name, value, raw] of [
    ['--schedules', schedules, values.schedules],
    ['--seed', seed, values.seed],
    ['--parallel', parallel, values.parallel],
  ] as const) {
    if (!Number.isInteger(value) || value < 0) {
      process.stderr.write(`${name} must be a whole number, got "${raw}"\n${USAGE}\n`);
      process.exitCode = 2;
      return;
    }
  }
  const replay = values.replay?.map(Number);
  const started = Date.now();
  let done = 0;
  const report = await runFaultBench({
    schedules,
    seed,
    parallel,
    ...(replay ? { replay } : {}),
    onSchedule: (result) => {
      done++;
      if (values.verbose || result.verdict.violations.length > 0) {
        process.stderr.write(`${JSON.stringify(result)}\n`);
      } else if (done % 50 === 0) {
        process.stderr.write(`${done} schedules, ${Math.round((Date.now() - started) / 1000)} s\n`);
      }
    },
  });
  process.stdout.write(
    `${JSON.stringify({ ...report, seconds: Math.round((Date.now() - started) / 1000) })}\n`,
  );
  if (report.violations.length > 0) process.exitCode = 1;
}

/**
 * Runs one benchmark by name: `npm run bench -- <name> [args...]`. Each
 * benchmark is a module exporting `run(args)`; it prints its figures as JSON
 * lines on stdout and any diagnostics on stderr.
 */

interface Benchmark {
  run(args: string[]): Promise<void> | void;
}

// Loaded on demand so that one benchmark's set-up never slows another down.
const BENCHMARKS: Record<string, () => Promise<Benchmark>> = {
  matcher: () => import('./matcher.ts'),
  pipeline: () => import('./pipeline.ts'),
  polling: () => import('./polling.ts'),
  cost: () => import('./cost.ts'),
  stories: () => import('./stories.ts'),
  faults: () => import('./faults.ts'),
};

async function main(): Promise<void> {
  const [name, ...args] = process.argv.slice(2);
  const load = name === undefined ? undefined : BENCHMARKS[name];
  if (!load) {
    const known = Object.keys(BENCHMARKS).join(', ');
    process.stderr.write(
      `usage: npm run bench -- <name> [args...]\n${name === undefined ? 'no benchmark named' : `unknown benchmark "${name}"`}; known: ${known}\n`,
    );
    process.exitCode = 2;
    return;
  }
  const benchmark = await load();
  await benchmark.run(args);
}

await main();

/**
 * `npm run corpus`: runs the real-world feed corpus and prints the tally by
 * category (parsed / named error / wrong) as a table, then every wrong
 * outcome. `--errors` also lists the named errors.
 */
import { CORPUS_DIR, corpusAvailable, runCorpus, tally } from './corpus.ts';

if (!corpusAvailable) {
  process.stderr.write(`no corpus at ${CORPUS_DIR} (set WIREWATCH_CORPUS_DIR)\n`);
  process.exit(2);
}
const started = performance.now();
const results = await runCorpus({ concurrency: 8 });
const seconds = (performance.now() - started) / 1000;
const table = tally(results);
const rows = Object.entries(table).sort(([a], [b]) => a.localeCompare(b));
const total = { parsed: 0, 'named-error': 0, wrong: 0 };
console.log(
  `${'category'.padEnd(12)}${'parsed'.padStart(8)}${'named error'.padStart(13)}${'wrong'.padStart(7)}`,
);
for (const [category, counts] of rows) {
  total.parsed += counts.parsed;
  total['named-error'] += counts['named-error'];
  total.wrong += counts.wrong;
  console.log(
    `${category.padEnd(12)}${String(counts.parsed).padStart(8)}${String(counts['named-error']).padStart(13)}${String(counts.wrong).padStart(7)}`,
  );
}
console.log(
  `${'total'.padEnd(12)}${String(total.parsed).padStart(8)}${String(total['named-error']).padStart(13)}${String(total.wrong).padStart(7)}`,
);
console.log(`${results.length} files in ${seconds.toFixed(1)} s`);
for (const { entry, outcome } of results) {
  if (outcome.kind === 'wrong') console.log(`wrong  ${entry.path}: ${outcome.reason}`);
  else if (outcome.kind === 'named-error' && process.argv.includes('--errors')) {
    console.log(`error  ${entry.path} [${entry.category}]: ${outcome.error}`);
  }
}

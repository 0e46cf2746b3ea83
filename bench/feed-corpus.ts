/**
 * `npm run corpus`: runs the whole real-world feed corpus (2,196 files;
 * `WIREWATCH_CORPUS_DIR`, else `../shared/corpora/feeds` beside the
 * repository) and prints the tally by category (parsed / named error /
 * wrong) as a table, then every wrong outcome. `--errors` also lists the
 * named errors. The tests run the part of it kept in test/fixtures/feeds.
 */
import { fileURLToPath } from 'node:url';
import { isCorpusDir, runCorpus, tally } from '../test/feeds/corpus.ts';

const CORPUS_DIR =
  process.env.WIREWATCH_CORPUS_DIR ??
  fileURLToPath(new URL('../../shared/corpora/feeds/', import.meta.url));

if (!isCorpusDir(CORPUS_DIR)) {
  process.stderr.write(`no corpus at ${CORPUS_DIR} (set WIREWATCH_CORPUS_DIR)\n`);
  process.exit(2);
}
const started = performance.now();
const results = await runCorpus(CORPUS_DIR, { concurrency: 8 });
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

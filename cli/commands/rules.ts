/**
 * `wirewatch rules ...`: the analyst's tools for writing and trying watches,
 * and (`rules-deploy.ts`) for pushing them to a deployment.
 */
import type { Command } from 'commander';
import pc from 'picocolors';
import type { Item } from '../../shared/feeds/item.ts';
import { type ExplainNode, explainWatch } from '../../shared/rules/explain.ts';
import { AnalyzedItem, compileWatches, type TermHit } from '../../shared/rules/matcher.ts';
import type { Watch } from '../../shared/rules/watch.ts';
import { loadWatchFile } from '../../shared/rules/watch-file.ts';
import { CommandFailure, run } from '../command-failure.ts';
import { printDiagnostics } from '../diagnostics-output.ts';
import { readItemsFile } from '../items-file.ts';
import { registerRulesDeployCommands } from './rules-deploy.ts';

export const DEFAULT_WATCH_FILE = 'samples/watches.yaml';

export function registerRulesCommands(program: Command): void {
  const rules = program.command('rules').description('write, check and try watch rules');

  rules
    .command('check')
    .description('check a watch file; print every error as path:line:column and exit 1 if any')
    .argument('[file]', 'watch file', DEFAULT_WATCH_FILE)
    .action(
      run(async (file: string) => {
        const watchFile = await loadWatchFile(file);
        const errors = printDiagnostics(watchFile);
        if (errors > 0)
          throw new CommandFailure(`${file}: ${errors} error${errors === 1 ? '' : 's'}`, 1);
        console.log(
          `${file}: ${watchFile.watches.length} watches, ${watchFile.lists.size} lists, OK`,
        );
      }),
    );

  rules
    .command('show')
    .description('print the watches of a watch file')
    .argument('[file]', 'watch file', DEFAULT_WATCH_FILE)
    .action(
      run(async (file: string) => {
        const watches = await validWatches(file);
        console.log(`${file}: ${watches.length} watches`);
        for (const w of watches) {
          console.log(`\n${pc.bold(w.name)} ${pc.dim(`(${w.id}, ${w.severity})`)}`);
          if (w.description) console.log(`  ${w.description}`);
          if (w.sources) console.log(`  sources: ${w.sources.join(', ')}`);
          console.log(`  ${pc.cyan(w.query.trim().replace(/\s+/g, ' '))}`);
        }
      }),
    );

  rules
    .command('test')
    .description('run the watches over items from a JSONL or RSS/Atom file and print the matches')
    .argument('[file]', 'watch file', DEFAULT_WATCH_FILE)
    .requiredOption('--items <path>', 'JSONL (id, title, summary, feed, lang?) or RSS/Atom file')
    .option('--format <format>', 'human, tsv (itemId<TAB>watchId) or json', 'human')
    .action(
      run(async (file: string, options: { items: string; format: string }) => {
        if (!['human', 'tsv', 'json'].includes(options.format)) {
          throw new CommandFailure(
            `--format must be human, tsv or json (got "${options.format}")`,
            2,
          );
        }
        const watches = await validWatches(file, options.format === 'human');
        const items = await readItemsFile(options.items);
        const matcher = compileWatches(watches);
        const byId = new Map(watches.map((w) => [w.id, w]));
        const results = items.map((item) => ({ item, matches: matcher.match(toInput(item)) }));

        if (options.format === 'tsv') {
          const lines = results.flatMap(({ item, matches }) =>
            matches.map((m) => `${item.id}\t${m.watchId}`),
          );
          lines.sort();
          if (lines.length > 0) process.stdout.write(`${lines.join('\n')}\n`);
          return;
        }
        if (options.format === 'json') {
          for (const { item, matches } of results) {
            for (const m of matches) {
              console.log(
                JSON.stringify({
                  itemId: item.id,
                  watchId: m.watchId,
                  feed: item.feed,
                  title: item.title,
                  hits: m.hits,
                }),
              );
            }
          }
          return;
        }
        let matched = 0;
        for (const { item, matches } of results) {
          if (matches.length === 0) continue;
          matched++;
          console.log(
            `\n${highlight(
              item.title,
              matches.flatMap((m) => m.hits),
              'title',
            )}`,
          );
          console.log(
            pc.dim(`  ${item.id} · ${item.feed}${item.published ? ` · ${item.published}` : ''}`),
          );
          for (const m of matches) {
            const terms = [...new Set(m.hits.map((h) => h.term))].join(', ');
            console.log(
              `  ${pc.green('●')} ${byId.get(m.watchId)?.name ?? m.watchId} ${pc.dim(`(${m.watchId})`)}: ${terms}`,
            );
          }
        }
        console.log(
          `\n${matched} of ${items.length} items matched at least one of ${watches.length} watches`,
        );
      }),
    );

  rules
    .command('explain')
    .description('for each item, why a watch matched or which required part was missing')
    .argument('[file]', 'watch file', DEFAULT_WATCH_FILE)
    .requiredOption('--watch <id>', 'id of the watch to explain')
    .requiredOption('--items <path>', 'JSONL or RSS/Atom file')
    .option('--only <which>', 'matched, unmatched or all', 'all')
    .action(
      run(async (file: string, options: { watch: string; items: string; only: string }) => {
        const watches = await validWatches(file);
        const watch = watches.find((w) => w.id === options.watch);
        if (!watch) {
          throw new CommandFailure(
            `no watch "${options.watch}" in ${file}; ids: ${watches.map((w) => w.id).join(', ')}`,
            2,
          );
        }
        const items = await readItemsFile(options.items);
        console.log(
          `${pc.bold(watch.name)} (${watch.id}): ${pc.cyan(watch.query.trim().replace(/\s+/g, ' '))}`,
        );
        for (const item of items) {
          const analyzed = new AnalyzedItem(toInput(item));
          const explanation = explainWatch(watch, analyzed);
          if (options.only === 'matched' && !explanation.matched) continue;
          if (options.only === 'unmatched' && explanation.matched) continue;
          const mark = explanation.matched ? pc.green('MATCH   ') : pc.red('NO MATCH');
          console.log(
            `\n${mark} ${item.id}  ${highlight(item.title, explanation.matched ? explanation.tree.hits : [], 'title')}`,
          );
          for (const reason of explanation.reasons) console.log(`  ${pc.yellow(reason)}`);
          printTree(explanation.tree, item, '  ');
        }
      }),
    );

  registerRulesDeployCommands(rules);
}

async function validWatches(path: string, showWarnings = true): Promise<Watch[]> {
  const file = await loadWatchFile(path);
  const errors = showWarnings
    ? printDiagnostics(file)
    : printDiagnostics({
        ...file,
        diagnostics: file.diagnostics.filter((d) => d.severity === 'error'),
      });
  if (errors > 0)
    throw new CommandFailure(`${path}: ${errors} error${errors === 1 ? '' : 's'}; nothing run`, 1);
  return file.watches;
}

function toInput(item: Item) {
  return {
    title: item.title,
    summary: item.summary,
    feed: item.feed,
    ...(item.lang !== undefined ? { lang: item.lang } : {}),
  };
}

/** The text with the hits of one field in bold colour. */
function highlight(text: string, hits: TermHit[], field: TermHit['field']): string {
  const spans = hits.filter((h) => h.field === field).sort((a, b) => a.start - b.start);
  let out = '';
  let at = 0;
  for (const h of spans) {
    if (h.start < at) continue;
    out += text.slice(at, h.start) + pc.bold(pc.yellow(text.slice(h.start, h.end)));
    at = h.end;
  }
  return out + text.slice(at);
}

function printTree(node: ExplainNode, item: Item, indent: string): void {
  const mark = node.holds ? pc.green('✓') : pc.red('✗');
  const where =
    node.children.length === 0 && node.hits.length > 0
      ? pc.dim(
          ` ${node.hits.map((h) => `${h.field}:"${(h.field === 'title' ? item.title : item.summary).slice(h.start, h.end)}"`).join(' ')}`,
        )
      : '';
  console.log(`${indent}${mark} ${node.label}${where}`);
  for (const child of node.children) printTree(child, item, `${indent}  `);
}

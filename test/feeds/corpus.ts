/**
 * Runs a directory of the real-world feed corpus (an `index.jsonl` and the
 * files it names, see test/fixtures/feeds/README.md) through the production fetcher, parser and normaliser: every
 * input file is served over local HTTP with its recorded headers, and each
 * outcome is classified as parsed, a named error, or wrong (a crash, an
 * unnamed error, a hang, or a title/link that disagrees with feedparser's
 * `Expect` line). Used by the corpus test and by `npm run corpus`.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { canonicaliseUrl } from '../../shared/feeds/canonical-url.ts';
import { createFeedFetcher, FeedFetchError } from '../../shared/feeds/fetch.ts';
import { htmlToText } from '../../shared/feeds/html-text.ts';
import { normaliseEntries } from '../../shared/feeds/normalise.ts';
import { FeedParseError, parseFeed } from '../../shared/feeds/parse.ts';

/** The corpus files the tests carry: every input file of the corpus up to 256 KiB. */
export const FIXTURE_CORPUS_DIR = fileURLToPath(new URL('../fixtures/feeds/', import.meta.url));

/** Whether `dir` holds a corpus (an `index.jsonl`). */
export function isCorpusDir(dir: string): boolean {
  return existsSync(path.join(dir, 'index.jsonl'));
}

/** One line of `index.jsonl` (the fields used here). */
export interface CorpusEntry {
  path: string;
  category: string;
  format: string;
  role: 'input' | 'expected_output';
  xml_wellformed: boolean | null;
  flags: string[];
  http_headers?: Record<string, string>;
  served_over_http?: boolean;
}

/** A title or link that feedparser's `Expect` line states. */
export interface Expectation {
  field: 'feed.title' | 'entry.title' | 'entry.link';
  value: string;
}

export type Outcome =
  | { kind: 'parsed'; items: number }
  | { kind: 'named-error'; error: string }
  | { kind: 'wrong'; reason: string };

export interface CorpusResult {
  entry: CorpusEntry;
  outcome: Outcome;
}

export async function readCorpusIndex(dir: string): Promise<CorpusEntry[]> {
  const text = await readFile(path.join(dir, 'index.jsonl'), 'utf8');
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as CorpusEntry)
    .filter((entry) => entry.role === 'input');
}

/** Files that are not feeds at all: they must end in a named error, never in items. */
export function isNotAFeed(entry: CorpusEntry): boolean {
  return entry.format === 'unknown' || entry.flags.includes('html_not_feed');
}

/** A Python string literal, or several joined with `+`. */
const PY_STRINGS = String.raw`((?:u?(?:'(?:\\.|[^'\\])*'|"(?:\\.|[^"\\])*")\s*\+?\s*)+)`;
const EXPECT_PATTERNS: [Expectation['field'], RegExp][] = [
  ['feed.title', new RegExp(String.raw`feed\['title'\]\s*==\s*${PY_STRINGS}`)],
  ['entry.title', new RegExp(String.raw`entries\[0\]\['title'\]\s*==\s*${PY_STRINGS}`)],
  ['entry.link', new RegExp(String.raw`entries\[0\]\['link'\]\s*==\s*${PY_STRINGS}`)],
];

/**
 * Where wirewatch knowingly differs from feedparser's expectation, and why.
 * They are reported apart from the tally's wrong outcomes, never hidden.
 */
export const ACCEPTED_DIFFERENCES: Record<string, string> = {
  'feedparser/entities/lang.xml': '&lang; is U+27E8 in HTML5 (feedparser keeps HTML 4 U+2329)',
  'feedparser/entities/rang.xml': '&rang; is U+27E9 in HTML5 (feedparser keeps HTML 4 U+232A)',
  'feedparser/wellformed/sanitize/entry_title_crazy.xml':
    'a whole HTML page as a title: wirewatch drops <head> content, feedparser keeps its <title>',
  'feedparser/wellformed/sanitize/feed_title_crazy.xml':
    'a whole HTML page as a title: wirewatch drops <head> content, feedparser keeps its <title>',
  'feedparser/wellformed/sanitize/xml_declaration_unexpected_character.xml':
    'HTML5 parses "<!DOCTYPE ~" in a fragment as a bogus comment: no text',
  'feedparser/wellformed/sanitize/xml_malicious_comment.xml':
    'HTML5 comments end only at "-->", so "fe" is inside the comment',
};

/** The titles and links a feedparser file's `Expect:` line states. */
export function expectations(document: string): Expectation[] {
  const line = /^Expect:\s*(.*)$/m.exec(document.slice(0, 4000))?.[1];
  if (line === undefined || /\bbozo\b(?! *==)/.test(line.replace(/not bozo/g, ''))) return [];
  const found: Expectation[] = [];
  for (const [field, pattern] of EXPECT_PATTERNS) {
    const match = pattern.exec(line);
    const literals = match?.[1]?.match(/'(?:\\.|[^'\\])*'|"(?:\\.|[^"\\])*"/g) ?? [];
    if (literals.length > 0) {
      found.push({ field, value: literals.map((l) => pythonUnescape(l.slice(1, -1))).join('') });
    }
  }
  return found;
}

function pythonUnescape(text: string): string {
  return text.replace(
    /\\(u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|x[0-9a-fA-F]{2}|.)/g,
    (_all, code: string) => {
      if (/^[uUx]/.test(code) && code.length > 1) {
        return String.fromCodePoint(Number.parseInt(code.slice(1), 16));
      }
      return { n: '\n', t: '\t', r: '\r' }[code] ?? code;
    },
  );
}

/**
 * The path a file is served at: feedparser's harness serves `tests/...`, and
 * its expected links are resolved against that document URL.
 */
function servedPath(entry: CorpusEntry): string {
  return entry.path.startsWith('feedparser/')
    ? `tests/${entry.path.slice('feedparser/'.length)}`
    : entry.path;
}

/** Serves the corpus files under `/<path>` with their recorded headers. */
async function startCorpusServer(dir: string, entries: Map<string, CorpusEntry>): Promise<Server> {
  const server = createServer((request, response) => {
    const name = decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname.slice(1));
    const entry = entries.get(name);
    if (entry === undefined) {
      response.writeHead(404).end();
      return;
    }
    readFile(path.join(dir, entry.path)).then(
      (body) => {
        const headers: Record<string, string> = {
          'Content-Type': entry.served_over_http ? 'text/xml' : 'application/xml',
          ...entry.http_headers,
        };
        // Header names differ in case across sources: let the recorded one win.
        if (headers['Content-type'] !== undefined) delete headers['Content-Type'];
        response.writeHead(200, headers).end(body);
      },
      () => response.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

/** Fetches, parses and normalises every input file of `dir`, `concurrency` at a time. */
export async function runCorpus(
  dir: string,
  options: { concurrency?: number; onResult?: (r: CorpusResult) => void } = {},
): Promise<CorpusResult[]> {
  const index = await readCorpusIndex(dir);
  const byPath = new Map(index.map((e) => [servedPath(e), e]));
  const server = await startCorpusServer(dir, byPath);
  const fetcher = createFeedFetcher({ allowPrivateNetworks: true, timeoutMs: 10_000 });
  const { port } = server.address() as AddressInfo;
  const results: CorpusResult[] = [];
  try {
    const queue = [...index];
    const worker = async (): Promise<void> => {
      for (let entry = queue.shift(); entry; entry = queue.shift()) {
        const url = `http://127.0.0.1:${port}/${servedPath(entry)}`;
        const result = { entry, outcome: await outcomeOf(dir, entry, url, fetcher) };
        results.push(result);
        options.onResult?.(result);
      }
    };
    await Promise.all(Array.from({ length: options.concurrency ?? 8 }, worker));
  } finally {
    fetcher.close();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
  return results.sort((a, b) => a.entry.path.localeCompare(b.entry.path));
}

async function outcomeOf(
  dir: string,
  entry: CorpusEntry,
  url: string,
  fetcher: ReturnType<typeof createFeedFetcher>,
): Promise<Outcome> {
  try {
    const fetched = await fetcher(url, {});
    if (fetched.status !== 'ok') return { kind: 'wrong', reason: 'answered 304 unasked' };
    const parsed = await parseFeed(fetched.body, fetched.finalUrl);
    const { items } = normaliseEntries('corpus', fetched.baseUrl, parsed);
    if (isNotAFeed(entry) && items.length > 0) {
      return { kind: 'wrong', reason: `not a feed, yet ${items.length} items came out` };
    }
    const raw = await readFile(path.join(dir, entry.path), 'latin1');
    for (const expected of expectations(raw)) {
      const actual =
        expected.field === 'feed.title'
          ? htmlToText(parsed.title ?? '')
          : expected.field === 'entry.title'
            ? items[0]?.title
            : items[0]?.link;
      const want =
        expected.field === 'entry.link'
          ? canonicaliseUrl(expected.value.replace('127.0.0.1:8097', new URL(url).host), url)
          : htmlToText(expected.value);
      // An entry with nothing to show yields no item at all, by design.
      const bothEmpty = want === '' && actual === undefined;
      if (actual !== want && !bothEmpty && ACCEPTED_DIFFERENCES[entry.path] === undefined) {
        return {
          kind: 'wrong',
          reason: `${expected.field}: expected ${JSON.stringify(want)}, got ${JSON.stringify(actual)}`,
        };
      }
    }
    return { kind: 'parsed', items: items.length };
  } catch (error) {
    if (error instanceof FeedFetchError || error instanceof FeedParseError) {
      return { kind: 'named-error', error: `${error.name}: ${error.message}` };
    }
    return { kind: 'wrong', reason: `unnamed error: ${String(error)}` };
  }
}

/** Counts of each outcome per category. */
export function tally(results: CorpusResult[]): Record<string, Record<Outcome['kind'], number>> {
  const table: Record<string, Record<Outcome['kind'], number>> = {};
  for (const { entry, outcome } of results) {
    const row = table[entry.category] ?? { parsed: 0, 'named-error': 0, wrong: 0 };
    row[outcome.kind]++;
    table[entry.category] = row;
  }
  return table;
}

/**
 * Loading a watch file (YAML): named `lists:` and `watches:`. Every problem is
 * reported at its place in the file, a query's problems at their column inside
 * the query string mapped back to the file, and all problems are collected
 * rather than stopping at the first.
 */
import { readFile } from 'node:fs/promises';
import {
  type Document,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  type Pair,
  parseDocument,
  type Scalar,
  visit,
  type YAMLMap,
} from 'yaml';
import type { Term } from './ast.ts';
import { type Diagnostic, type QueryProblem, WatchFileError } from './diagnostics.ts';
import { parseListEntry, parseQuery } from './parser.ts';
import { checkQuery, expandLists, listNameHints, MAX_LIST_NESTING } from './validate.ts';
import { SEVERITIES, type Watch, type WatchSeverity } from './watch.ts';

export interface WatchFile {
  path: string;
  watches: Watch[];
  /** Each list's entries, with nested lists flattened. */
  lists: Map<string, Term[]>;
  /** Errors and warnings, in file order. */
  diagnostics: Diagnostic[];
}

const TOP_KEYS = ['lists', 'watches'];
const WATCH_KEYS = ['id', 'name', 'query', 'description', 'severity', 'sources', 'lang', 'updates'];
const WATCH_ID = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const LIST_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;
const LANG = /^[A-Za-z]{2,3}$/;

/** Reads and checks a watch file; never throws for problems in its content. */
export async function loadWatchFile(path: string): Promise<WatchFile> {
  const source = await readFile(path, 'utf8');
  return parseWatchFile(source, path);
}

/** The watches of a file that has no errors; throws `WatchFileError` otherwise. */
export function requireWatches(file: WatchFile): Watch[] {
  if (file.diagnostics.some((d) => d.severity === 'error')) {
    throw new WatchFileError(file.diagnostics);
  }
  return file.watches;
}

/** Parses and checks the text of a watch file. */
export function parseWatchFile(source: string, path: string): WatchFile {
  const lineCounter = new LineCounter();
  // Repeated keys are found below: the parser's own check compares each key with
  // every earlier one, minutes for a file of 100,000 lists.
  const doc = parseDocument(source, { lineCounter, prettyErrors: false, uniqueKeys: false });
  const diagnostics: Diagnostic[] = [];
  const report = (
    offset: number,
    message: string,
    hint?: string,
    severity: Diagnostic['severity'] = 'error',
  ): void => {
    const { line, col } = lineCounter.linePos(offset);
    diagnostics.push({
      severity,
      file: path,
      line,
      column: col,
      message,
      ...(hint ? { hint } : {}),
    });
  };
  const result: WatchFile = { path, watches: [], lists: new Map(), diagnostics };

  for (const e of doc.errors) report(e.pos[0], e.message.split('\n')[0] ?? e.message);
  if (doc.errors.length > 0) return sorted(result);
  // A repeated key leaves a usable document (the first value counts), so its other
  // problems are still worth reporting; any other YAML error does not.
  for (const key of repeatedKeys(doc)) report(startOf(key), 'Map keys must be unique');

  const root = doc.contents;
  if (!isMap(root)) {
    report(0, 'a watch file is a map with lists: and watches:');
    return sorted(result);
  }
  let listsNode: Node | undefined;
  let watchesNode: Node | undefined;
  for (const pair of root.items) {
    const key = keyOf(pair);
    if (key === 'lists') listsNode = pair.value as Node | undefined;
    else if (key === 'watches') watchesNode = pair.value as Node | undefined;
    else report(startOf(pair.key), `unknown key "${key}"`, hintForKey(key, TOP_KEYS));
  }

  const queryReport = (node: Scalar, problems: QueryProblem[]): void => {
    for (const p of problems) {
      report(sourceOffset(source, node, p.offset), p.message, p.hint, p.severity);
    }
  };
  const { lists, tooDeep } = readLists(listsNode, report, queryReport);
  result.lists = lists;
  if (!watchesNode) {
    report(startOf(root), 'the file has no watches:', 'add watches: with at least one watch');
  } else {
    const lineOf = (offset: number): number => lineCounter.linePos(offset).line;
    const used = { lists, tooDeep };
    result.watches = readWatches(watchesNode, used, report, queryReport, lineOf);
  }
  return sorted(result);
}

type Report = (offset: number, message: string, hint?: string) => void;
type QueryReport = (node: Scalar, problems: QueryProblem[]) => void;
/** An entry of a list: a term, or the name of a list it includes; `offset` is in the entry's text. */
interface ListEntry {
  expr: Term | string;
  node: Scalar;
  offset: number;
}

/** The lists of a file: those a watch may use, and the names of those that nest too deep. */
interface Lists {
  lists: Map<string, Term[]>;
  tooDeep: Set<string>;
}

function readLists(node: Node | undefined, report: Report, queryReport: QueryReport): Lists {
  const none: Lists = { lists: new Map(), tooDeep: new Set() };
  if (node === undefined || (isScalar(node) && node.value === null)) return none;
  if (!isMap(node)) {
    report(startOf(node), 'lists: is a map from list name to its entries');
    return none;
  }
  // Parse every entry first, then expand references with cycle detection.
  const raw = new Map<string, ListEntry[]>();
  for (const pair of node.items) {
    const name = keyOf(pair);
    if (!LIST_NAME.test(name)) {
      report(startOf(pair.key), `"${name}" is not a list name`, 'use letters, digits, - and _');
      continue;
    }
    const value = pair.value as Node | null;
    if (!isSeq(value)) {
      report(
        startOf(value ?? pair.key),
        `list "${name}" must be a sequence of entries`,
        `write ${name}: [Pyongyang, '"north korea"']`,
      );
      continue;
    }
    const entries: ListEntry[] = [];
    for (const item of value.items) {
      const entry = item as Node;
      if (
        !isScalar(entry) ||
        (typeof entry.value !== 'string' && typeof entry.value !== 'number')
      ) {
        report(startOf(entry), `each entry of list "${name}" is a word, phrase or wildcard`);
        continue;
      }
      const { expr, problems } = parseListEntry(String(entry.value));
      queryReport(entry, problems);
      if (!expr) continue;
      entries.push({
        expr: expr.kind === 'list' ? expr.name : (expr as Term),
        node: entry,
        offset: expr.offset,
      });
    }
    raw.set(name, entries);
  }

  const lists = expandListEntries(raw, queryReport);
  return { lists, tooDeep: new Set([...raw.keys()].filter((name) => !lists.has(name))) };
}

/**
 * Each list's terms with the lists it uses flattened in, for every list that
 * expands through at most `MAX_LIST_NESTING` lists. The walk keeps its own
 * stack and expands each list once, a term reached twice kept once, so a long
 * chain costs time in proportion to its length and fails at the limit.
 */
function expandListEntries(
  raw: ReadonlyMap<string, ListEntry[]>,
  queryReport: QueryReport,
): Map<string, Term[]> {
  // Reported through the entry's text, so that the column is that of the @, inside any quotes.
  const problem = ({ node, offset }: ListEntry, message: string, hint: string): void =>
    queryReport(node, [{ severity: 'error', offset, message, hint }]);
  /** How many lists deep each list expands, itself included. */
  const heights = new Map<string, number>();
  /** Every list after the lists it uses. */
  const order: string[] = [];
  /** References not followed: unknown lists and those closing a cycle. */
  const broken = new Set<ListEntry>();
  const visiting = new Set<string>();
  const hints = listNameHints([...raw.keys()]);
  for (const root of raw.keys()) {
    if (heights.has(root)) continue;
    const stack = [{ name: root, next: 0, height: 1 }];
    visiting.add(root);
    for (let frame = stack.at(-1); frame; frame = stack.at(-1)) {
      const entry = raw.get(frame.name)?.[frame.next++];
      if (!entry) {
        stack.pop();
        visiting.delete(frame.name);
        heights.set(frame.name, frame.height);
        order.push(frame.name);
        const user = stack.at(-1);
        if (user) user.height = Math.max(user.height, frame.height + 1);
        continue;
      }
      const used = entry.expr;
      if (typeof used !== 'string') continue;
      const height = heights.get(used);
      if (!raw.has(used)) {
        broken.add(entry);
        problem(entry, `unknown list @${used}`, hints(used));
      } else if (visiting.has(used)) {
        broken.add(entry);
        problem(
          entry,
          `list @${frame.name} uses @${used}, which leads back to @${frame.name} (a cycle)`,
          'a list may use other lists, but not itself',
        );
      } else if (height !== undefined) {
        frame.height = Math.max(frame.height, height + 1);
      } else {
        visiting.add(used);
        stack.push({ name: used, next: 0, height: 1 });
      }
    }
  }

  const resolved = new Map<string, Term[]>();
  for (const name of order) {
    const entries = raw.get(name) ?? [];
    if ((heights.get(name) ?? 0) > MAX_LIST_NESTING) {
      // Reported once, at the list where the chain passes the limit; watches
      // using a list above it are told so where they use it.
      const last = entries.find(
        (e) =>
          typeof e.expr === 'string' && !broken.has(e) && heights.get(e.expr) === MAX_LIST_NESTING,
      );
      const withinLimit = entries.every(
        (e) =>
          typeof e.expr !== 'string' ||
          broken.has(e) ||
          (heights.get(e.expr) ?? 0) <= MAX_LIST_NESTING,
      );
      if (last && withinLimit) {
        problem(
          last,
          `list @${name} expands through more than ${MAX_LIST_NESTING} lists`,
          `lists may use lists at most ${MAX_LIST_NESTING} deep; use the words of the deeper lists directly`,
        );
      }
      continue;
    }
    const terms = new Set<Term>();
    for (const entry of entries) {
      if (typeof entry.expr !== 'string') terms.add(entry.expr);
      else if (!broken.has(entry)) for (const t of resolved.get(entry.expr) ?? []) terms.add(t);
    }
    resolved.set(name, [...terms]);
  }
  return resolved;
}

function readWatches(
  node: Node,
  lists: Lists,
  report: Report,
  queryReport: QueryReport,
  lineOf: (offset: number) => number,
): Watch[] {
  if (!isSeq(node)) {
    report(startOf(node), 'watches: is a sequence of watches', 'start each watch with "- id: ..."');
    return [];
  }
  const watches: Watch[] = [];
  const firstSeen = new Map<string, number>();
  for (const item of node.items) {
    const map = item as Node;
    if (!isMap(map)) {
      report(startOf(map), 'a watch is a map with id, name and query');
      continue;
    }
    const idNode = valueNode(map, 'id');
    const id = isScalar(idNode) ? String(idNode.value) : undefined;
    const seenAt = id === undefined ? undefined : firstSeen.get(id);
    if (id !== undefined && seenAt !== undefined) {
      report(
        startOf(idNode),
        `duplicate watch id "${id}"`,
        `it is first used on line ${lineOf(seenAt)}; ids must be unique`,
      );
    } else if (id !== undefined) {
      firstSeen.set(id, startOf(idNode));
    }
    const watch = readWatch(map, lists, report, queryReport);
    if (!watch || seenAt !== undefined) continue;
    watches.push(watch);
  }
  return watches;
}

function readWatch(
  map: YAMLMap,
  { lists, tooDeep }: Lists,
  report: Report,
  queryReport: QueryReport,
): Watch | undefined {
  let ok = true;
  const fail = (node: Node | null | undefined, message: string, hint?: string): void => {
    ok = false;
    report(startOf(node ?? map), message, hint);
  };
  for (const pair of map.items) {
    const key = keyOf(pair);
    if (!WATCH_KEYS.includes(key))
      fail(pair.key as Node, `unknown key "${key}" in watch`, hintForKey(key, WATCH_KEYS));
  }
  const text = (key: string, required: boolean): { value?: string; node?: Scalar } => {
    const node = valueNode(map, key);
    if (node === undefined) {
      if (required) fail(map, `the watch has no ${key}:`);
      return {};
    }
    if (!isScalar(node) || typeof node.value !== 'string' || node.value.trim() === '') {
      fail(node, `${key}: must be a non-empty string`);
      return {};
    }
    return { value: node.value, node };
  };

  const id = text('id', true);
  if (id.value !== undefined && !WATCH_ID.test(id.value)) {
    fail(id.node, `watch id "${id.value}" is not kebab-case`, `write ${kebab(id.value)}`);
  }
  const name = text('name', true);
  const description = text('description', false);
  const query = text('query', true);
  const severityText = text('severity', false);
  let severity: WatchSeverity = 'normal';
  if (severityText.value !== undefined) {
    if ((SEVERITIES as readonly string[]).includes(severityText.value)) {
      severity = severityText.value as WatchSeverity;
    } else {
      fail(
        severityText.node,
        `unknown severity "${severityText.value}"`,
        `use one of ${SEVERITIES.join(', ')}`,
      );
    }
  }
  const lang = text('lang', false);
  if (lang.value !== undefined && !LANG.test(lang.value)) {
    fail(
      lang.node,
      `lang "${lang.value}" is not a language code`,
      'write a code such as en, fr or ko',
    );
  }
  let sources: string[] | undefined;
  const sourcesNode = valueNode(map, 'sources');
  if (sourcesNode !== undefined) {
    if (
      isSeq(sourcesNode) &&
      sourcesNode.items.every((s) => isScalar(s) && typeof s.value === 'string')
    ) {
      sources = sourcesNode.items.map((s) => String((s as Scalar).value));
    } else {
      fail(sourcesNode, 'sources: must be a list of feed ids', 'write sources: [wire-a, wire-b]');
    }
  }

  let updates = false;
  const updatesNode = valueNode(map, 'updates');
  if (updatesNode !== undefined) {
    if (isScalar(updatesNode) && typeof updatesNode.value === 'boolean') {
      updates = updatesNode.value;
    } else {
      fail(updatesNode, 'updates: must be true or false', 'write updates: true');
    }
  }

  let expr: Watch['expr'] | undefined;
  if (query.value !== undefined && query.node) {
    const parsed = parseQuery(query.value);
    const problems = [...parsed.problems];
    if (parsed.expr) {
      problems.push(...checkQuery(parsed.expr));
      expr = expandLists(parsed.expr, lists, problems, tooDeep);
    }
    queryReport(query.node, problems);
    if (problems.some((p) => p.severity === 'error')) ok = false;
  }
  if (
    !ok ||
    !expr ||
    id.value === undefined ||
    name.value === undefined ||
    query.value === undefined
  ) {
    return undefined;
  }
  return {
    id: id.value,
    name: name.value,
    query: query.value,
    severity,
    updates,
    expr,
    ...(description.value !== undefined ? { description: description.value } : {}),
    ...(sources ? { sources } : {}),
    ...(lang.value !== undefined ? { lang: lang.value.toLowerCase() } : {}),
  };
}

/** The keys that repeat an earlier key of the same map, found with a set per map. */
function repeatedKeys(doc: Document.Parsed): Node[] {
  const repeated: Node[] = [];
  visit(doc, {
    Map(_, map) {
      const seen = new Set<unknown>();
      for (const { key } of map.items) {
        if (!isScalar(key)) continue;
        if (seen.has(key.value)) repeated.push(key);
        seen.add(key.value);
      }
    },
  });
  return repeated;
}

function keyOf(pair: Pair): string {
  const key = pair.key;
  return isScalar(key) ? String(key.value) : String(key);
}

function valueNode(map: YAMLMap, key: string): Node | undefined {
  const pair = map.items.find((p) => keyOf(p) === key);
  if (!pair) return undefined;
  return (pair.value ?? undefined) as Node | undefined;
}

function startOf(node: unknown): number {
  const range = (node as { range?: [number, number, number] } | null)?.range;
  return range?.[0] ?? 0;
}

function hintForKey(key: string, known: string[]): string {
  const close = known.find((k) => k.startsWith(key.slice(0, 3)) || key.startsWith(k.slice(0, 3)));
  return close
    ? `did you mean ${close}:? known keys: ${known.join(', ')}`
    : `known keys: ${known.join(', ')}`;
}

function kebab(id: string): string {
  return id
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}

/**
 * Maps an offset inside a scalar's parsed value to an offset in the file, by
 * walking the source text of the scalar alongside its value: quotes, escapes,
 * folded line breaks and indentation are skipped over. In a double-quoted
 * scalar an escape (`\"`, `\t`, `\u00e9`) stands for the characters it decodes to.
 */
function sourceOffset(source: string, node: Scalar, valueOffset: number): number {
  const [start, end] = node.range ?? [0, source.length];
  const value = String(node.value);
  let at = start;
  if (node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE') at++;
  if (node.type === 'BLOCK_LITERAL' || node.type === 'BLOCK_FOLDED') {
    at = source.indexOf('\n', start) + 1;
  }
  const escapes = node.type === 'QUOTE_DOUBLE';
  const unitAt = (j: number): SourceUnit =>
    escapes && source.charAt(j) === '\\'
      ? decodeEscape(source, j)
      : { text: source.charAt(j), length: 1 };
  const target = Math.min(valueOffset, value.length);
  // The rest of an escape that decodes to several value characters (`\U0001F600`).
  let carried = '';
  let carriedAt = at;
  for (let k = 0; k <= target; k++) {
    if (k === value.length) return at;
    if (carried) {
      if (k === target) return carriedAt;
      carried = carried.slice(1);
      continue;
    }
    const c = value.charAt(k);
    let j = at;
    let unit = unitAt(j);
    while (j < end && !standsFor(unit.text, c)) {
      j += unit.length;
      unit = unitAt(j);
    }
    if (j >= end) return at;
    if (k === target) return j;
    carried = unit.text.slice(1);
    carriedAt = j;
    at = j + unit.length;
  }
  return at;
}

/** A piece of a scalar's source: one character, or a whole escape with what it decodes to. */
interface SourceUnit {
  text: string;
  length: number;
}

function standsFor(text: string, c: string): boolean {
  const first = text.charAt(0);
  return /\s/.test(c) ? /\s/.test(first) : first === c;
}

const SIMPLE_ESCAPES: Record<string, string> = {
  '0': '\0',
  a: '\x07',
  b: '\b',
  t: '\t',
  '\t': '\t',
  n: '\n',
  v: '\v',
  f: '\f',
  r: '\r',
  e: '\x1b',
  N: '\x85',
  _: '\xa0',
  L: '\u2028',
  P: '\u2029',
};
const HEX_ESCAPE_DIGITS: Record<string, number> = { x: 2, u: 4, U: 8 };

/** Decodes the YAML double-quoted escape starting with the backslash at `at`. */
function decodeEscape(source: string, at: number): SourceUnit {
  const e = source.charAt(at + 1);
  const digits = HEX_ESCAPE_DIGITS[e];
  if (digits !== undefined) {
    const code = Number.parseInt(source.slice(at + 2, at + 2 + digits), 16);
    const valid = Number.isInteger(code) && code <= 0x10ffff;
    return { text: valid ? String.fromCodePoint(code) : '', length: 2 + digits };
  }
  // An escaped line break joins the lines and stands for nothing.
  if (e === '\r' && source.charAt(at + 2) === '\n') return { text: '', length: 3 };
  if (e === '\n' || e === '\r') return { text: '', length: 2 };
  return { text: SIMPLE_ESCAPES[e] ?? e, length: 2 };
}

function sorted(file: WatchFile): WatchFile {
  file.diagnostics.sort((a, b) => a.line - b.line || a.column - b.column);
  return file;
}

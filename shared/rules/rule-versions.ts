/**
 * Versions of the watch file in a deployment: what a push changes compared
 * with the live version, and the errors a push can meet.
 */
import { createHash } from 'node:crypto';
import type { Watch } from './watch.ts';
import type { WatchFile } from './watch-file.ts';

/** Hex SHA-256 of a watch file's text, as stored with each version. */
export function sourceSha256(source: string): string {
  return createHash('sha256').update(source, 'utf8').digest('hex');
}

/**
 * Thrown when a push finds that the live version is no longer the one the
 * pusher saw (another push won meanwhile). Nothing of this push is live.
 */
export class RuleVersionConflictError extends Error {
  constructor(
    readonly expected: number | undefined,
    readonly actual: number | undefined,
  ) {
    super(
      `the live rules changed while you pushed: you expected ${describeVersion(expected)}, ` +
        `${describeVersion(actual)} is live now. Nothing was pushed; run the push again to ` +
        'see the diff against what is live.',
    );
    this.name = 'RuleVersionConflictError';
  }
}

/** Thrown when a watch file is too large to store even compressed. */
export class RuleSetTooLargeError extends Error {
  constructor(
    readonly bytes: number,
    readonly storedBytes: number,
    readonly limit: number,
  ) {
    super(
      `the watch file is ${bytes} bytes, ${storedBytes} compressed; a version can hold at most ` +
        `${limit} bytes (DynamoDB items are limited to 400 KB). Split long lists or remove ` +
        'unused watches.',
    );
    this.name = 'RuleSetTooLargeError';
  }
}

function describeVersion(version: number | undefined): string {
  return version === undefined ? 'no version (nothing pushed yet)' : `version ${version}`;
}

/** The fields of a watch an analyst writes, compared one by one. */
export const WATCH_FIELDS = [
  'name',
  'query',
  'description',
  'severity',
  'sources',
  'lang',
] as const;
export type WatchField = (typeof WATCH_FIELDS)[number];

/** One field of a watch that differs between two versions; absent values are `undefined`. */
export interface FieldChange {
  field: WatchField | 'lists';
  before?: string;
  after?: string;
}

/** A watch present in both versions whose definition differs. */
export interface WatchChange {
  id: string;
  name: string;
  changes: FieldChange[];
}

/** A named list present in both versions whose entries differ. */
export interface ListChange {
  name: string;
  added: string[];
  removed: string[];
}

/** What a new version of the watch file changes, watches compared by id and lists by name. */
export interface WatchFileDiff {
  added: Watch[];
  removed: Watch[];
  changed: WatchChange[];
  listsAdded: string[];
  listsRemoved: string[];
  listsChanged: ListChange[];
}

/** True when the diff has no change to any watch or list (formatting or comments only). */
export function isEmptyDiff(diff: WatchFileDiff): boolean {
  return (
    diff.added.length +
      diff.removed.length +
      diff.changed.length +
      diff.listsAdded.length +
      diff.listsRemoved.length +
      diff.listsChanged.length ===
    0
  );
}

/**
 * Compares two parsed watch files. `live` is `undefined` before the first
 * push, when every watch is added. A watch whose own fields are unchanged but
 * that uses a changed list is reported as changed, with field `lists`.
 */
export function diffWatchFiles(
  live: Pick<WatchFile, 'watches' | 'lists'> | undefined,
  next: Pick<WatchFile, 'watches' | 'lists'>,
): WatchFileDiff {
  const before = new Map((live?.watches ?? []).map((w) => [w.id, w]));
  const after = new Map(next.watches.map((w) => [w.id, w]));
  const beforeLists = listTexts(live?.lists);
  const afterLists = listTexts(next.lists);

  const listsChanged: ListChange[] = [];
  for (const [name, entries] of afterLists) {
    const old = beforeLists.get(name);
    if (!old) continue;
    const added = entries.filter((e) => !old.includes(e));
    const removed = old.filter((e) => !entries.includes(e));
    if (added.length > 0 || removed.length > 0) listsChanged.push({ name, added, removed });
  }
  const changedLists = new Set(listsChanged.map((l) => l.name));

  const changed: WatchChange[] = [];
  for (const [id, watch] of after) {
    const old = before.get(id);
    if (!old) continue;
    const changes: FieldChange[] = [];
    for (const field of WATCH_FIELDS) {
      const a = fieldText(old, field);
      const b = fieldText(watch, field);
      if (a !== b) {
        changes.push({
          field,
          ...(a !== undefined ? { before: a } : {}),
          ...(b !== undefined ? { after: b } : {}),
        });
      }
    }
    const uses = listsUsed(watch.query).filter((name) => changedLists.has(name));
    if (uses.length > 0 && !changes.some((c) => c.field === 'query')) {
      changes.push({ field: 'lists', after: uses.map((name) => `@${name}`).join(', ') });
    }
    if (changes.length > 0) changed.push({ id, name: watch.name, changes });
  }

  return {
    added: next.watches.filter((w) => !before.has(w.id)),
    removed: (live?.watches ?? []).filter((w) => !after.has(w.id)),
    changed,
    listsAdded: [...afterLists.keys()].filter((name) => !beforeLists.has(name)),
    listsRemoved: [...beforeLists.keys()].filter((name) => !afterLists.has(name)),
    listsChanged,
  };
}

function listTexts(lists: WatchFile['lists'] | undefined): Map<string, string[]> {
  const texts = new Map<string, string[]>();
  for (const [name, terms] of lists ?? [])
    texts.set(
      name,
      terms.map((t) => t.text),
    );
  return texts;
}

/** The field as one line of text, `undefined` when the watch does not set it. */
function fieldText(watch: Watch, field: WatchField): string | undefined {
  const value = watch[field];
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value.join(', ') : value.trim().replace(/\s+/g, ' ');
}

/** Names of the lists a query refers to with `@name`. */
function listsUsed(query: string): string[] {
  return [...query.matchAll(/@([A-Za-z0-9][A-Za-z0-9_-]*)/g)].map((m) => m[1] as string);
}

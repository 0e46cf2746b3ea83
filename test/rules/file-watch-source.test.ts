import { mkdtemp, rm, unlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Logger } from '../../shared/ports.ts';
import { WatchFileError } from '../../shared/rules/diagnostics.ts';
import { FileWatchSource } from '../../shared/rules/file-watch-source.ts';
import { manualClock } from '../support/manual-clock.ts';

/** A clock the test moves by hand. */

/** A logger that keeps the errors it is given. */
function recordingLogger(): Logger & { errors: string[] } {
  const errors: string[] = [];
  return {
    errors,
    info() {},
    warn() {},
    error(message) {
      errors.push(message);
    },
  };
}

function watchFile(id: string, query: string): string {
  return `watches:\n  - id: ${id}\n    name: ${id}\n    query: '${query}'\n`;
}

/** A watch on list `l0` of a chain of `n` lists, each using the next. */
function listChainFile(n: number): string {
  const lists = Array.from(
    { length: n },
    (_, i) => `  l${i}: [${i + 1 < n ? `'@l${i + 1}', ` : ''}w${i}]`,
  );
  return ['lists:', ...lists, watchFile('deep', '@l0')].join('\n');
}

const TROOPS = watchFile('troops', 'troops');
const PATRIOT = watchFile('patriot', 'patriot');
/** Valid YAML that does not compile: two words with no operator. */
const BROKEN = watchFile('broken', 'north korea');

describe('FileWatchSource', () => {
  let dir: string;
  let path: string;
  let edits: number;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wirewatch-watch-file-'));
    path = join(dir, 'watches.yaml');
    edits = 0;
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Writes the file with a modification time of its own, as an editor saving it later would. */
  async function save(text: string): Promise<void> {
    await writeFile(path, text);
    edits += 1;
    const mtime = new Date(Date.UTC(2025, 0, 1, 0, 0, edits));
    await utimes(path, mtime, mtime);
  }

  it('runs the watches of the file, versioned by a digest of its text', async () => {
    await save(TROOPS);
    const source = new FileWatchSource(path, recordingLogger());

    const ruleSet = await source.current();

    expect([...ruleSet.watches.keys()]).toEqual(['troops']);
    expect(ruleSet.version).toMatch(/^[0-9a-f]{12}$/);
  });

  it('does not look at the file again within a second', async () => {
    await save(TROOPS);
    const clock = manualClock('2025-03-01T10:00:00Z');
    const source = new FileWatchSource(path, recordingLogger(), { clock });
    const first = await source.current();

    await unlink(path);
    clock.advance(999);
    const again = await Promise.all(Array.from({ length: 100 }, () => source.current()));

    for (const ruleSet of again) expect(ruleSet).toBe(first);
  });

  it('picks up an edit once the second has passed, and not before', async () => {
    await save(TROOPS);
    const clock = manualClock('2025-03-01T10:00:00Z');
    const source = new FileWatchSource(path, recordingLogger(), { clock });
    await source.current();

    await save(PATRIOT);
    clock.advance(500);
    const before = await source.current();
    clock.advance(500);
    const after = await source.current();

    expect([...before.watches.keys()]).toEqual(['troops']);
    expect([...after.watches.keys()]).toEqual(['patriot']);
    expect(after.version).not.toBe(before.version);
  });

  it('keeps serving the same rule set while the file is unchanged', async () => {
    await save(TROOPS);
    const clock = manualClock('2025-03-01T10:00:00Z');
    const source = new FileWatchSource(path, recordingLogger(), { clock });
    const first = await source.current();

    clock.advance(5_000);
    const later = await source.current();

    expect(later).toBe(first);
  });

  it('keeps the last good rules when an edit breaks the file, logging it once', async () => {
    await save(TROOPS);
    const clock = manualClock('2025-03-01T10:00:00Z');
    const logger = recordingLogger();
    const source = new FileWatchSource(path, logger, { clock });
    const good = await source.current();

    await save(BROKEN);
    clock.advance(1_000);
    const kept = await source.current();
    clock.advance(1_000);
    const stillKept = await source.current();
    await save(PATRIOT);
    clock.advance(1_000);
    const fixed = await source.current();

    expect(kept).toBe(good);
    expect(stillKept).toBe(good);
    expect(logger.errors).toEqual(['watch file has errors; keeping the previous rules']);
    expect([...fixed.watches.keys()]).toEqual(['patriot']);
  });

  it('looks at the file again when the clock is set back', async () => {
    await save(TROOPS);
    const clock = manualClock('2025-03-01T10:00:00Z');
    const source = new FileWatchSource(path, recordingLogger(), { clock });
    await source.current();

    await save(PATRIOT);
    clock.advance(-60_000);
    const ruleSet = await source.current();

    expect([...ruleSet.watches.keys()]).toEqual(['patriot']);
  });

  it('keeps the last good rules when an edit nests lists 10,000 deep', async () => {
    await save(TROOPS);
    const clock = manualClock('2025-03-01T10:00:00Z');
    const logger = recordingLogger();
    const source = new FileWatchSource(path, logger, { clock });
    const good = await source.current();

    await save(listChainFile(10_000));
    clock.advance(1_000);
    const kept = await source.current();

    expect(kept).toBe(good);
    expect(logger.errors).toEqual(['watch file has errors; keeping the previous rules']);
  });

  it('keeps the last good rules, logging once, while the file cannot be read', async () => {
    await save(TROOPS);
    const clock = manualClock('2025-03-01T10:00:00Z');
    const logger = recordingLogger();
    const source = new FileWatchSource(path, logger, { clock });
    const good = await source.current();

    // An editor that saves by deleting and renaming leaves a moment with no file.
    await unlink(path);
    clock.advance(1_000);
    const kept = await source.current();
    clock.advance(1_000);
    const stillKept = await source.current();
    await save(PATRIOT);
    clock.advance(1_000);
    const back = await source.current();

    expect(kept).toBe(good);
    expect(stillKept).toBe(good);
    expect(logger.errors).toEqual(['cannot load the watch file; keeping the previous rules']);
    expect([...back.watches.keys()]).toEqual(['patriot']);
  });

  it('fails when the file cannot be read and there are no earlier rules to keep', async () => {
    const source = new FileWatchSource(path, recordingLogger());

    await expect(source.current()).rejects.toThrow('ENOENT');
  });

  it('fails when the file has errors and there are no earlier rules to keep', async () => {
    await save(BROKEN);
    const source = new FileWatchSource(path, recordingLogger());

    await expect(source.current()).rejects.toBeInstanceOf(WatchFileError);
  });
});

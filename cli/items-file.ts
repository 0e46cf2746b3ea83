/**
 * Items for `rules test` and `rules explain`: a JSONL file (one item per line:
 * id, title, summary, feed, optional lang, link, published) or an RSS/Atom file
 * normalised with the poller's own code.
 */
import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import type { Item } from '../shared/feeds/item.ts';
import { normaliseEntries } from '../shared/feeds/normalise.ts';
import { parseFeed } from '../shared/feeds/parse.ts';

const ItemLine = z.object({
  id: z.union([z.string().min(1), z.number()]).transform(String),
  title: z.string(),
  summary: z.string().optional().default(''),
  feed: z.string().optional().default('unknown'),
  lang: z.string().optional(),
  link: z.string().optional(),
  published: z.string().optional(),
});

/** Thrown when an items file cannot be read; names the file and line. */
export class ItemsFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ItemsFileError';
  }
}

export async function readItemsFile(path: string): Promise<Item[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ItemsFileError(`${path}: cannot read items file (${(error as Error).message})`);
  }
  const ext = extname(path).toLowerCase();
  if (ext === '.jsonl' || ext === '.json' || text.trimStart().startsWith('{')) {
    return parseJsonLines(text, path);
  }
  const feedId = basename(path, ext);
  const parsed = await parseFeed(text, pathToFileURL(path).href).catch((error: Error) => {
    throw new ItemsFileError(
      `${path}: not JSONL and not a readable RSS/Atom feed (${error.message})`,
    );
  });
  return normaliseEntries(feedId, pathToFileURL(path).href, parsed).items;
}

function parseJsonLines(text: string, path: string): Item[] {
  const items: Item[] = [];
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new ItemsFileError(`${path}:${index + 1}: not a JSON object`);
    }
    const parsed = ItemLine.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new ItemsFileError(
        `${path}:${index + 1}: ${issue?.path.join('.') || 'item'}: ${issue?.message ?? 'invalid item'}`,
      );
    }
    const { lang, link, published, ...rest } = parsed.data;
    items.push({
      ...rest,
      ...(lang !== undefined ? { lang } : {}),
      ...(link !== undefined ? { link } : {}),
      ...(published !== undefined ? { published } : {}),
    });
  });
  return items;
}

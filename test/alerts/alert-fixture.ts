import type { AddressInfo } from 'node:net';
import net from 'node:net';
import type { Alert, Item, MatchedTerm } from '../../shared/ports.ts';

/** Where `word` first occurs in the alert's title or summary, as a matched term. */
export function termAt(
  text: string,
  word: string,
  field: MatchedTerm['field'],
  term: string = word.toLowerCase(),
): MatchedTerm {
  const start = text.indexOf(word);
  if (start < 0) {
    throw new Error(`"${word}" does not occur in "${text}"`);
  }
  return { term, field, start, end: start + word.length };
}

const defaultTitle = 'North Korean troops deploy to Kursk region';
const defaultSummary =
  'Pyongyang has sent thousands of troops to the front line, officials in Seoul said on Wednesday.';

/** A realistic alert; `item` fields and alert fields can be overridden. */
export function makeAlert(
  overrides: Partial<Omit<Alert, 'item'>> & { item?: Partial<Item> } = {},
): Alert {
  const item: Item = {
    id: 'item-1',
    feed: 'reuters-world',
    title: defaultTitle,
    summary: defaultSummary,
    link: 'https://news.example.com/world/korea-troops?id=42',
    published: '2025-03-05T14:03:27Z',
    lang: 'en',
    ...overrides.item,
  };
  const { item: _ignored, ...rest } = overrides;
  return {
    alertId: 'alert-1',
    subscriberId: 'sub-1',
    watchId: 'korea-troops',
    watchName: 'Korea troop deployments',
    severity: 'high',
    storyId: 'story-1',
    ruleVersion: 'v7',
    ...rest,
    matchedTerms: rest.matchedTerms ?? [
      termAt(item.title, 'North Korean', 'title', '"north korean"'),
      termAt(item.summary, 'troops', 'summary'),
    ],
    item,
  };
}

/** The control characters (other than newline) in `text`, as code points. */
export function controlCharactersIn(text: string): number[] {
  return [...text]
    .map((char) => char.charCodeAt(0))
    .filter((code) => code !== 0x0a && (code < 0x20 || (code >= 0x7f && code <= 0x9f)));
}

/** A port nothing listens on: bound once by us, then released. */
export async function closedPort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve, reject) =>
    probe.close((error) => (error ? reject(error) : resolve())),
  );
  return port;
}

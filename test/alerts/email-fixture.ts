import type { Digest, DigestEntry, UnsubscribeLink } from '../../shared/ports.ts';
import { makeAlert, termAt } from './alert-fixture.ts';

export const UNSUBSCRIBE: UnsubscribeLink = {
  url: 'https://wirewatch.example/unsubscribe?s=sub-1&w=korea-troops&t=abc123',
  mailto: 'mailto:unsubscribe@wirewatch.example?subject=unsubscribe%20sub-1%20korea-troops',
};

const patriotTitle = 'Germany to send two more Patriot systems to Ukraine';
const patriotSummary =
  'Berlin will deliver two further Patriot air-defence systems by the end of the year, the defence ministry said.';

/**
 * A digest with two watches: Korea (a new story with a later report of it,
 * plus a report of a story alerted before this digest) and Patriot (one
 * update).
 */
export function makeDigest(overrides: Partial<Digest> = {}): Digest {
  const korea = makeAlert({ unsubscribe: UNSUBSCRIBE });
  const entries: DigestEntry[] = [
    { kind: 'alert', alert: korea, queuedAt: '2025-03-05T14:05:00Z' },
    {
      kind: 'update',
      alert: makeAlert({
        alertId: 'alert-3',
        watchId: 'patriot',
        watchName: 'Patriot transfers',
        severity: 'medium',
        storyId: 'story-3',
        kind: 'update',
        item: {
          id: 'item-3',
          feed: 'dpa',
          title: patriotTitle,
          summary: patriotSummary,
          link: 'https://dpa.example/patriot',
        },
        matchedTerms: [
          termAt(patriotTitle, 'Patriot', 'title', 'patriot'),
          termAt(patriotSummary, 'Patriot', 'summary', 'patriot'),
        ],
      }),
      queuedAt: '2025-03-05T15:00:00Z',
    },
    {
      kind: 'follow-up',
      alert: makeAlert({
        alertId: 'alert-2',
        item: {
          id: 'item-2',
          feed: 'ap-world',
          title: 'North Korean soldiers seen near Kursk',
          link: 'https://ap.example/kursk',
        },
        matchedTerms: [],
      }),
      first: {
        itemId: 'item-1',
        title: 'North Korean troops deploy to Kursk region',
        feed: 'reuters-world',
        link: 'https://news.example.com/world/korea-troops?id=42',
      },
      queuedAt: '2025-03-05T16:00:00Z',
    },
    {
      kind: 'follow-up',
      alert: makeAlert({
        alertId: 'alert-4',
        storyId: 'story-earlier',
        item: {
          id: 'item-4',
          feed: 'bbc-news',
          title: 'More troops arrive, Seoul says',
          link: 'https://bbc.example/more',
        },
        matchedTerms: [],
      }),
      first: {
        itemId: 'item-0',
        title: 'Pyongyang moves troops north',
        feed: 'yonhap',
        link: 'https://yonhap.example/0',
      },
      queuedAt: '2025-03-05T17:00:00Z',
    },
  ];
  return {
    digestId: 'digest-sub-1-2025-03-06T07:00',
    subscriberId: 'sub-1',
    subscriberName: 'Ana',
    scheduledFor: '2025-03-06T07:00:00Z',
    timezone: 'Europe/Warsaw',
    entries,
    unsubscribe: { url: 'https://wirewatch.example/unsubscribe?s=sub-1&w=*&t=def456' },
    ...overrides,
  };
}

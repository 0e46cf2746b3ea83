import { describe, expect, it } from 'vitest';
import { formatInTimeZone } from '../../shared/alerts/render.ts';
import {
  renderSlackAlert,
  renderSlackDigest,
  renderSlackFollowUp,
  renderSlackPreviewHtml,
  SLACK_MAX_BLOCKS,
  type SlackMessage,
} from '../../shared/alerts/slack.ts';
import type { Alert, Digest, DigestEntry } from '../../shared/ports.ts';
import { makeAlert, termAt } from './alert-fixture.ts';

/** Every mrkdwn or plain text of a message, the fallback first. */
function textsOf(message: SlackMessage): string[] {
  return [
    message.text,
    ...message.blocks.flatMap((block) => {
      if (block.type === 'context') {
        return block.elements.map((e) => e.text);
      }
      return block.type === 'divider' ? [] : [block.text.text];
    }),
  ];
}

/** The `<...>` tokens Slack would act on: links, mentions, broadcasts. */
function slackTokens(message: SlackMessage): string[] {
  return textsOf(message).flatMap((text) => text.match(/<[^<>]*>/g) ?? []);
}

const HOSTILE =
  'Troops <!channel> <!here|here> <@U123> <#C999> <https://evil.example|click> &lt; @here @channel @everyone';

function hostileAlert(overrides: Partial<Alert> = {}): Alert {
  return makeAlert({
    watchName: 'Watch <!channel>',
    item: {
      title: HOSTILE,
      summary: `Summary ${HOSTILE}`,
      feed: 'feed <@U777>',
    },
    matchedTerms: [termAt(HOSTILE, 'Troops', 'title')],
    ...overrides,
  });
}

function expectNothingPings(message: SlackMessage, allowedLink: string): void {
  for (const token of slackTokens(message)) {
    expect(token.startsWith(`<${allowedLink}|`)).toBe(true);
  }
  const all = textsOf(message).join('\n');
  expect(all).not.toMatch(/<[!@#]/);
  expect(all).not.toContain('<https://evil.example');
  expect(all).not.toMatch(/@(here|channel|everyone)\b/);
}

describe('renderSlackAlert', () => {
  it('links the headline and shows feed, time, watch, severity, bold matches and rule version', () => {
    const message = renderSlackAlert(makeAlert());

    expect(message.text).toBe(
      '[HIGH] Korea troop deployments: North Korean troops deploy to Kursk region',
    );
    expect(message.blocks).toEqual([
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: '*<https://news.example.com/world/korea-troops?id=42|North Korean troops deploy to Kursk region>*',
        },
      },
      {
        type: 'context',
        elements: [
          {
            type: 'mrkdwn',
            text: '*HIGH* · Korea troop deployments · reuters-world · Wed 5 Mar 2025, 14:03 UTC',
          },
        ],
      },
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: '>Pyongyang has sent thousands of *troops* to the front line, officials in Seoul said on Wednesday.',
        },
      },
      {
        type: 'context',
        elements: [
          {
            type: 'mrkdwn',
            text: 'Matched: *"north korean"* (title), *troops* (summary) · rules v7',
          },
        ],
      },
    ]);
  });

  it('labels an update', () => {
    const message = renderSlackAlert(makeAlert({ kind: 'update' }));

    expect(textsOf(message)[1]).toMatch(/^\*Update:\* \*<https:\/\/news\.example\.com/);
    expect(message.text).toBe(
      '[HIGH] Update · Korea troop deployments: North Korean troops deploy to Kursk region',
    );
  });

  it('does not label a first alert as an update', () => {
    expect(textsOf(renderSlackAlert(makeAlert({ kind: 'alert' }))).join('\n')).not.toContain(
      'Update',
    );
  });

  it('escapes mentions, broadcasts, forged links and entities from feed text', () => {
    const message = renderSlackAlert(hostileAlert());

    expectNothingPings(message, 'https://news.example.com/world/korea-troops?id=42');
    const all = textsOf(message).join('\n');
    expect(all).toContain('&lt;!channel&gt; &lt;!here|here&gt; &lt;@U123&gt; &lt;#C999&gt;');
    expect(all).toContain('&lt;https://evil.example|click&gt; &amp;lt;');
    expect(all).toContain('@\u2060here @\u2060channel @\u2060everyone');
    expect(all).toContain('Watch &lt;!channel&gt;');
    expect(all).toContain('feed &lt;@U777&gt;');
  });

  it('shows a headline without a link when the item link is not a safe web link', () => {
    for (const link of ['javascript:alert(1)', 'https://user:pw@news.example.com/', 'nonsense']) {
      const message = renderSlackAlert(makeAlert({ item: { link } }));

      expect(textsOf(message)[1]).toBe('*North Korean troops deploy to Kursk region*');
      expect(slackTokens(message)).toEqual([]);
    }
  });

  it('keeps | and > in a link from ending the link early', () => {
    const message = renderSlackAlert(
      makeAlert({ item: { link: 'https://news.example.com/a?q=x|y&z=<b>' } }),
    );

    expect(slackTokens(message)).toEqual([
      '<https://news.example.com/a?q=x%7Cy&amp;z=%3Cb%3E|North Korean troops deploy to Kursk region>',
    ]);
  });

  it('keeps every text within 3,000 characters for a huge item', () => {
    const title = `Troops ${'<&> '.repeat(3000)}`;
    const message = renderSlackAlert(
      makeAlert({
        watchName: 'w'.repeat(5000),
        item: { title, summary: 'troops '.repeat(2000), feed: 'f'.repeat(5000) },
        matchedTerms: [termAt(title, 'Troops', 'title')],
      }),
    );

    for (const text of textsOf(message)) {
      expect(text.length).toBeLessThanOrEqual(3000);
    }
    expect(textsOf(message)[1]).toMatch(/…>\*$/);
  });

  it('cuts escaped text between entities and folds a long list of matched terms', () => {
    const summary = `${'&<> '.repeat(3000)}troops ${'& '.repeat(3000)}`;
    const alert = makeAlert({
      item: { title: '&'.repeat(5000), summary, link: `https://example.com/${'a'.repeat(1400)}` },
      watchName: '<'.repeat(4000),
      matchedTerms: [
        termAt(summary, 'troops', 'summary'),
        ...Array.from({ length: 200 }, (_, i) => ({
          term: `term-${i}-${'&'.repeat(100)}`,
          field: 'title' as const,
          start: 0,
          end: 1,
        })),
      ],
    });

    const message = renderSlackAlert(alert);

    for (const text of textsOf(message)) {
      expect(text.length).toBeLessThanOrEqual(3000);
      expect(text).not.toMatch(/&(?!amp;|lt;|gt;)/);
    }
    expect(textsOf(message)[4]).toMatch(/, and \d+ more · rules v7$/);
  });
});

describe('renderSlackFollowUp', () => {
  it('says which other outlet reported the story, with its linked title', () => {
    const alert = makeAlert({
      item: {
        feed: 'bbc-world',
        title: 'Kim sends soldiers to Russia',
        link: 'https://bbc.example/news/1',
      },
      matchedTerms: [],
    });

    const message = renderSlackFollowUp({
      alert,
      first: {
        itemId: 'first-1',
        title: 'North Korean troops deploy to Kursk region',
        feed: 'reuters-world',
      },
      threadRef: '1712345678.000100',
    });

    expect(textsOf(message)[1]).toBe(
      'Also reported by *bbc-world*: <https://bbc.example/news/1|Kim sends soldiers to Russia>',
    );
    expect(message.text).toBe('Also reported by bbc-world: Kim sends soldiers to Russia');
  });

  it('escapes a hostile follow-up', () => {
    const message = renderSlackFollowUp({
      alert: hostileAlert(),
      first: { itemId: 'first-2', title: 'x', feed: 'y' },
    });

    expectNothingPings(message, 'https://news.example.com/world/korea-troops?id=42');
  });
});

function entry(kind: DigestEntry['kind'], alert: Alert, extra: Partial<DigestEntry> = {}) {
  return { kind, alert, queuedAt: '2025-03-05T15:00:00Z', ...extra } satisfies DigestEntry;
}

function digestOf(entries: DigestEntry[]): Digest {
  return {
    digestId: 'digest-1',
    subscriberId: 'sub-1',
    scheduledFor: '2025-03-05T17:00:00Z',
    timezone: 'Europe/Warsaw',
    entries,
  };
}

describe('renderSlackDigest', () => {
  const korea = makeAlert();
  const koreaElsewhere = makeAlert({
    alertId: 'alert-2',
    item: {
      id: 'i2',
      feed: 'bbc-world',
      title: 'Kim sends soldiers',
      link: 'https://bbc.example/1',
    },
    matchedTerms: [],
  });
  const patriot = makeAlert({
    alertId: 'alert-3',
    watchId: 'patriot',
    watchName: 'Patriot transfers',
    storyId: 'story-9',
    item: { id: 'i3', feed: 'ap', title: 'More Patriots for Kyiv', link: 'https://ap.example/9' },
    matchedTerms: [],
  });
  const laterKorea = makeAlert({
    alertId: 'alert-4',
    storyId: 'story-old',
    item: { id: 'i4', feed: 'afp', title: 'Troops seen near Kursk', link: 'https://afp.example/4' },
    matchedTerms: [],
  });

  it('groups by watch, then story: alerts first, then also-reported lines', () => {
    const message = renderSlackDigest(
      digestOf([
        entry('follow-up', koreaElsewhere),
        entry('alert', patriot),
        entry('alert', korea),
        entry('follow-up', laterKorea, {
          first: {
            itemId: 'first-3',
            title: 'Troops massing on border',
            feed: 'reuters-world',
            link: 'https://r.example/old',
          },
        }),
      ]),
    );

    expect(message.blocks[0]).toEqual({
      type: 'header',
      text: { type: 'plain_text', text: 'wirewatch digest: 2 alerts, 2 also reported' },
    });
    expect(textsOf(message)[2]).toBe('Wed 5 Mar 2025, 18:00 (Europe/Warsaw)');
    expect(message.blocks.map((b) => b.type)).toEqual([
      'header',
      'context',
      'divider',
      'section',
      'section',
      'section',
      'divider',
      'section',
      'section',
    ]);
    const [, , koreaHeading, koreaStory, oldStory, patriotHeading, patriotStory] =
      textsOf(message).slice(1);
    expect(koreaHeading).toBe('*Korea troop deployments*');
    expect(koreaStory?.split('\n')).toEqual([
      '*<https://news.example.com/world/korea-troops?id=42|North Korean troops deploy to Kursk region>*',
      'reuters-world · Wed 5 Mar 2025, 14:03 UTC · HIGH',
      '>Pyongyang has sent thousands of *troops* to the front line, officials in Seoul said on Wednesday.',
      '• Also reported by *bbc-world*: <https://bbc.example/1|Kim sends soldiers>',
    ]);
    expect(oldStory?.split('\n')).toEqual([
      '*<https://r.example/old|Troops massing on border>* · reuters-world · _alerted earlier_',
      '• Also reported by *afp*: <https://afp.example/4|Troops seen near Kursk>',
    ]);
    expect(patriotHeading).toBe('*Patriot transfers*');
    expect(patriotStory).toContain('*<https://ap.example/9|More Patriots for Kyiv>*');
    expect(message.text).toBe(
      'wirewatch digest: 2 alerts, 2 also reported · Korea troop deployments, Patriot transfers',
    );
  });

  it('labels updates in a digest', () => {
    const message = renderSlackDigest(digestOf([entry('update', korea)]));

    expect(message.blocks[0]).toMatchObject({ text: { text: 'wirewatch digest: 1 update' } });
    expect(textsOf(message).join('\n')).toContain('*Update:* *<https://news.example.com');
  });

  it('shows the scheduled time in the subscriber time zone, UTC when the zone is unknown', () => {
    expect(formatInTimeZone('2025-07-01T06:30:00Z', 'America/New_York')).toBe(
      'Tue 1 Jul 2025, 02:30 (America/New_York)',
    );
    expect(formatInTimeZone('2025-07-01T06:30:00Z', 'Mars/Olympus')).toBe(
      'Tue 1 Jul 2025, 06:30 (UTC)',
    );
  });

  it('escapes hostile feed text everywhere in a digest', () => {
    const hostile = hostileAlert();
    const message = renderSlackDigest(
      digestOf([
        entry('alert', hostile),
        entry('follow-up', hostileAlert({ storyId: 'other' }), {
          first: {
            itemId: 'first-4',
            title: HOSTILE,
            feed: 'evil <!here>',
            link: 'javascript:alert(1)',
          },
        }),
      ]),
    );

    expectNothingPings(message, 'https://news.example.com/world/korea-troops?id=42');
  });

  it('never has more than 50 blocks or a text over 3,000 characters, and says how many stories it left out', () => {
    const entries: DigestEntry[] = [];
    for (let w = 0; w < 6; w++) {
      for (let s = 0; s < 15; s++) {
        const title = `Story ${w}-${s} ${'<big> & '.repeat(400)}`;
        entries.push(
          entry(
            'alert',
            makeAlert({
              watchId: `w${w}`,
              watchName: `Watch ${w} ${'n'.repeat(4000)}`,
              storyId: `s${w}-${s}`,
              item: { title, summary: 'troops '.repeat(500), link: `https://x.example/${w}/${s}` },
              matchedTerms: [termAt(title, 'Story', 'title')],
            }),
          ),
        );
      }
    }
    for (let f = 0; f < 200; f++) {
      entries.push(
        entry(
          'follow-up',
          makeAlert({
            watchId: 'w0',
            storyId: 's0-0',
            item: {
              feed: `feed-${f}`,
              title: `Report ${f} ${'x'.repeat(300)}`,
              link: `https://f.example/${f}`,
            },
            matchedTerms: [],
          }),
        ),
      );
    }

    const message = renderSlackDigest(digestOf(entries));

    expect(message.blocks.length).toBeLessThanOrEqual(SLACK_MAX_BLOCKS);
    expect(message.blocks.length).toBeGreaterThan(40);
    for (const text of textsOf(message)) {
      expect(text.length).toBeLessThanOrEqual(3000);
    }
    const storySections = message.blocks.filter(
      (b) => b.type === 'section' && b.text.text.includes('Story '),
    ).length;
    expect(message.blocks.at(-1)).toEqual({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: `…and ${90 - storySections} more stories` }],
    });
    const busyStory = textsOf(message).find((t) => t.includes('Story 0-0'));
    expect(busyStory).toMatch(/\n…and \d+ more lines$/);
    expect(message.blocks[0]).toMatchObject({
      text: { text: 'wirewatch digest: 90 alerts, 200 also reported' },
    });
  });
});

describe('renderSlackPreviewHtml', () => {
  it('turns mrkdwn into HTML without letting feed text add markup or links', () => {
    const html = renderSlackPreviewHtml(
      renderSlackAlert(
        hostileAlert({
          item: {
            ...makeAlert().item,
            title: '<script>alert(1)</script> <img src=x onerror=alert(1)> Troops',
          },
          matchedTerms: [],
        }),
      ),
    );

    expect(html).not.toContain('<script');
    expect(html).not.toContain('<img');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html.match(/<a /g)).toHaveLength(1);
    expect(html).toContain(
      '<strong><a href="https://news.example.com/world/korea-troops?id=42" target="_blank" rel="noopener noreferrer">',
    );
    expect(html).toContain("default-src 'none'");
  });

  it('shows a raw mention visibly instead of hiding it', () => {
    const html = renderSlackPreviewHtml({
      text: 'x',
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'hi <!channel> *bold* _it_' } }],
    });

    expect(html).toContain('<span class="mention">&lt;!channel&gt;</span>');
    expect(html).toContain('<strong>bold</strong> <em>it</em>');
  });
});

import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { chromium, type Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { renderSlackAlert, renderSlackPreviewHtml } from '../../shared/alerts/slack.ts';
import { makeAlert } from './alert-fixture.ts';

const CHROMIUM = '/usr/bin/chromium';
const WIDTH = 600;

/** Fails when any element of the page reaches past the window's right edge. */
async function expectWithinWidth(page: Page): Promise<void> {
  // A string, so that the test compiles without the DOM library.
  const layout = await page.evaluate<{ scrollWidth: number; widest: number }>(`({
    scrollWidth: document.documentElement.scrollWidth,
    widest: Math.max(
      ...[...document.body.querySelectorAll('*')].map((e) => e.getBoundingClientRect().right),
    ),
  })`);
  expect(layout.scrollWidth).toBeLessThanOrEqual(WIDTH);
  expect(layout.widest).toBeLessThanOrEqual(WIDTH);
}

const SCREENSHOT = new URL('../../docs/slack-alert.png', import.meta.url);

describe.skipIf(!existsSync(CHROMIUM))(
  `Slack alert preview in Chromium (skipped when ${CHROMIUM} is not installed)`,
  () => {
    it('lays out an alert within a 600px-wide window with the headline linked, and saves a screenshot', async () => {
      const html = renderSlackPreviewHtml(renderSlackAlert(makeAlert()), { time: '14:05' });
      const browser = await chromium.launch({ executablePath: CHROMIUM });
      try {
        const page = await browser.newPage({ viewport: { width: WIDTH, height: 400 } });
        await page.setContent(html);

        const headline = page.locator('.section').first().locator('a');
        await expect(headline.isVisible()).resolves.toBe(true);
        await expect(headline.textContent()).resolves.toBe(
          'North Korean troops deploy to Kursk region',
        );
        await expect(headline.getAttribute('href')).resolves.toBe(
          'https://news.example.com/world/korea-troops?id=42',
        );
        await expect(page.locator('blockquote strong').allTextContents()).resolves.toEqual([
          'troops',
        ]);
        await expectWithinWidth(page);
        await mkdir(new URL('.', SCREENSHOT), { recursive: true });
        await page.locator('.message').screenshot({ path: SCREENSHOT.pathname });

        const unbroken = `Troops${'x'.repeat(400)}`;
        await page.setContent(
          renderSlackPreviewHtml(
            renderSlackAlert(
              makeAlert({
                item: { title: unbroken, summary: unbroken, feed: 'y'.repeat(300) },
                matchedTerms: [],
              }),
            ),
          ),
        );
        await expectWithinWidth(page);
      } finally {
        await browser.close();
      }
    }, 30_000);
  },
);

/**
 * Looks at the emails: renders an alert and a digest in headless Chromium at
 * a phone and a desktop width and checks what a reader would notice (a page
 * wider than the screen, text too small, a headline off screen). Writes the
 * phone renderings to `docs/` for people to look at.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderEmailAlert, renderEmailDigest } from '../../shared/alerts/email.ts';
import { makeAlert, termAt } from './alert-fixture.ts';
import { makeDigest, UNSUBSCRIBE } from './email-fixture.ts';

const CHROMIUM = '/usr/bin/chromium';
const DOCS = fileURLToPath(new URL('../../docs/', import.meta.url));

const VIEWPORTS = {
  phone: { width: 375, height: 800 },
  desktop: { width: 1280, height: 900 },
} as const;

const title = 'North Korean troops deploy to Kursk region as Seoul warns of a wider war';
const summary =
  'Pyongyang has sent thousands of troops to the front line, officials in Seoul said on Wednesday, citing https://intelligence.example.org/reports/2025/03/05/north-korean-deployment-kursk-region-full-assessment-with-annexes.';

/** An alert with the things that break phone layouts: a long unbroken URL, lists, a quote. */
function showcaseAlert() {
  return makeAlert({
    unsubscribe: UNSUBSCRIBE,
    item: {
      title,
      summary,
      summaryHtml:
        '<p>Pyongyang has sent thousands of <b>troops</b> to the front line, officials in Seoul said on Wednesday.</p><ul><li>About 3,000 soldiers moved by rail</li><li>Seoul summoned the Russian ambassador</li></ul><blockquote>We are watching the situation closely.</blockquote><p>Source: <a href="https://intelligence.example.org/reports/2025/03/05/north-korean-deployment-kursk-region-full-assessment-with-annexes">https://intelligence.example.org/reports/2025/03/05/north-korean-deployment-kursk-region-full-assessment-with-annexes</a></p><pre>grid 52.7N 35.9E -- 52.8N 36.1E -- 52.9N 36.4E -- 53.0N 36.6E -- 53.1N 36.9E</pre>',
    },
    matchedTerms: [
      termAt(title, 'North Korean', 'title', '"north korean"'),
      termAt(summary, 'troops', 'summary'),
    ],
  });
}

interface PageMetrics {
  scrollWidth: number;
  innerWidth: number;
  smallestTextPx: number;
  headline: { visible: boolean; left: number; right: number; text: string };
}

const chromiumAvailable = existsSync(CHROMIUM);

describe.skipIf(!chromiumAvailable)('email layout in a browser', () => {
  let browser: Browser;

  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM });
    await mkdir(DOCS, { recursive: true });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
  });

  async function measure(
    html: string,
    viewport: { width: number; height: number },
    headlineSelector: string,
    screenshot?: string,
  ): Promise<PageMetrics> {
    const page = await browser.newPage({ viewport });
    try {
      // Nothing may load from anywhere: a remote image or stylesheet would show up here.
      const requests: string[] = [];
      page.on('request', (request) => {
        if (!request.url().startsWith('data:') && request.url() !== 'about:blank') {
          requests.push(request.url());
        }
      });
      await page.setContent(html, { waitUntil: 'load' });
      // A string, as tsconfig has no DOM types: it runs in the page.
      const metrics = await page.evaluate<PageMetrics>(`(() => {
        let smallest = Infinity;
        for (const element of document.body.querySelectorAll('*')) {
          const style = getComputedStyle(element);
          const rect = element.getBoundingClientRect();
          const hasText = [...element.childNodes].some(
            (n) => n.nodeType === Node.TEXT_NODE && (n.textContent ?? '').trim() !== '',
          );
          if (hasText && style.display !== 'none' && rect.width > 0 && rect.height > 0) {
            smallest = Math.min(smallest, parseFloat(style.fontSize));
          }
        }
        const headline = document.querySelector(${JSON.stringify(headlineSelector)});
        const rect = headline?.getBoundingClientRect();
        return {
          scrollWidth: document.documentElement.scrollWidth,
          innerWidth: window.innerWidth,
          smallestTextPx: smallest,
          headline: {
            visible: rect !== undefined && rect.width > 0 && rect.height > 0 && rect.top >= 0,
            left: rect?.left ?? -1,
            right: rect?.right ?? -1,
            text: headline?.textContent ?? '',
          },
        };
      })()`);
      if (screenshot !== undefined) {
        await page.screenshot({ path: `${DOCS}${screenshot}`, fullPage: true });
      }
      expect(requests).toEqual([]);
      return metrics;
    } finally {
      await page.close();
    }
  }

  for (const [name, viewport] of Object.entries(VIEWPORTS)) {
    it(`fits an alert to a ${name} screen with readable text and the headline in view`, async () => {
      const { html } = renderEmailAlert(showcaseAlert());

      const metrics = await measure(
        html,
        viewport,
        'h1',
        name === 'phone' ? 'email-alert.png' : undefined,
      );

      expect(metrics.scrollWidth).toBeLessThanOrEqual(metrics.innerWidth);
      expect(metrics.smallestTextPx).toBeGreaterThanOrEqual(14);
      expect(metrics.headline.visible).toBe(true);
      expect(metrics.headline.left).toBeGreaterThanOrEqual(0);
      expect(metrics.headline.right).toBeLessThanOrEqual(viewport.width);
      expect(metrics.headline.text).toBe(title);
    });

    it(`fits a digest to a ${name} screen with readable text`, async () => {
      const { html } = renderEmailDigest(makeDigest());

      const metrics = await measure(
        html,
        viewport,
        'h2',
        name === 'phone' ? 'email-digest.png' : undefined,
      );

      expect(metrics.scrollWidth).toBeLessThanOrEqual(metrics.innerWidth);
      expect(metrics.smallestTextPx).toBeGreaterThanOrEqual(14);
      expect(metrics.headline.visible).toBe(true);
      expect(metrics.headline.text).toBe('Korea troop deployments');
    });
  }
});

import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createOutboxSender,
  type OutboxRecord,
  outboxPathSegment,
} from '../../shared/adapters/outbox-sender.ts';
import type { Clock } from '../../shared/ports.ts';
import { makeAlert } from './alert-fixture.ts';

const clock: Clock = { now: () => new Date('2025-03-05T14:10:00.000Z') };

describe('outbox sender', () => {
  let workDir: string;
  let outboxDir: string;

  beforeEach(async () => {
    workDir = await mkdtemp(path.join(tmpdir(), 'wirewatch-outbox-'));
    outboxDir = path.join(workDir, 'outbox');
  });

  afterEach(async () => {
    await rm(workDir, { recursive: true, force: true });
  });

  it('writes one JSON file per alert under the subscriber directory', async () => {
    const sender = createOutboxSender({ outboxDir, clock });
    const alert = makeAlert({ subscriberId: 'analyst-7', alertId: 'a1b2c3' });

    await sender.send(alert, { type: 'outbox' });

    const file = path.join(outboxDir, 'analyst-7', 'a1b2c3.json');
    const record = JSON.parse(await readFile(file, 'utf8')) as OutboxRecord;
    expect(record).toEqual({
      alertId: 'a1b2c3',
      subscriberId: 'analyst-7',
      watchId: 'korea-troops',
      watchName: 'Korea troop deployments',
      severity: 'high',
      itemId: 'item-1',
      storyId: 'story-1',
      title: alert.item.title,
      summary: alert.item.summary,
      link: 'https://news.example.com/world/korea-troops?id=42',
      feed: 'reuters-world',
      published: '2025-03-05T14:03:27Z',
      matchedTerms: alert.matchedTerms,
      ruleVersion: 'v7',
      sentAt: '2025-03-05T14:10:00.000Z',
      kind: 'alert',
    });
    expect(await readdir(path.join(outboxDir, 'analyst-7'))).toEqual(['a1b2c3.json']);
  });

  it('replaces the file when the same alert is sent again', async () => {
    const sender = createOutboxSender({ outboxDir, clock });
    const alert = makeAlert();

    await sender.send(alert, { type: 'outbox' });
    await sender.send({ ...alert, severity: 'critical' }, { type: 'outbox' });

    const dir = path.join(outboxDir, 'sub-1');
    expect(await readdir(dir)).toEqual(['alert-1.json']);
    const record = JSON.parse(
      await readFile(path.join(dir, 'alert-1.json'), 'utf8'),
    ) as OutboxRecord;
    expect(record.severity).toBe('critical');
  });

  it('keeps hostile subscriber and alert ids inside the outbox', async () => {
    const sender = createOutboxSender({ outboxDir, clock });
    const alert = makeAlert({ subscriberId: '../../x', alertId: '../../../escaped' });

    await sender.send(alert, { type: 'outbox' });

    expect(await readdir(workDir)).toEqual(['outbox']);
    const subscriberDirs = await readdir(outboxDir);
    expect(subscriberDirs).toEqual(['%2E.%2F..%2Fx']);
    const files = await readdir(path.join(outboxDir, subscriberDirs[0] ?? ''));
    expect(files).toEqual(['%2E.%2F..%2F..%2Fescaped.json']);
  });

  it('gives distinct ids distinct file names', () => {
    const ids = [
      'a/b',
      'a_b',
      'a%2Fb',
      '.hidden',
      '%2Ehidden',
      '',
      '%',
      'é',
      'x'.repeat(500),
      `${'x'.repeat(500)}y`,
    ];

    const segments = ids.map(outboxPathSegment);

    expect(new Set(segments).size).toBe(ids.length);
    for (const segment of segments) {
      expect(segment).toMatch(/^[A-Za-z0-9_%~-][A-Za-z0-9._%~-]*$/);
      expect(segment.length).toBeLessThanOrEqual(120);
    }
  });
});

import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createConsoleSender } from '../../shared/adapters/console-sender.ts';
import { DeliveryError } from '../../shared/alerts/delivery-error.ts';
import { controlCharactersIn, makeAlert } from './alert-fixture.ts';

function captureStream(isTTY: boolean): {
  stream: PassThrough & { isTTY: boolean };
  output: () => string;
} {
  const stream = Object.assign(new PassThrough(), { isTTY });
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  return { stream, output: () => Buffer.concat(chunks).toString('utf8') };
}

describe('console sender', () => {
  it('prints the alert without colours when the stream is not a terminal', async () => {
    const { stream, output } = captureStream(false);
    const sender = createConsoleSender({ stream });

    await sender.send(makeAlert(), { type: 'console' });

    expect(output()).toContain('[HIGH] Korea troop deployments\nNorth Korean troops deploy');
    expect(output()).toContain('Matched: "north korean" (title), troops (summary)');
    expect(controlCharactersIn(output())).toEqual([]);
  });

  it('colours the alert when the stream is a terminal', async () => {
    const { stream, output } = captureStream(true);
    const sender = createConsoleSender({ stream });

    await sender.send(makeAlert(), { type: 'console' });

    expect(output()).toContain('\u001b[');
    expect(output()).toContain('Korea troop deployments');
  });

  it('does not let feed text send escape sequences to the terminal', async () => {
    const { stream, output } = captureStream(false);
    const sender = createConsoleSender({ stream });
    const alert = makeAlert({
      item: { title: 'Troops \u001b[2J\u001b]0;owned\u0007 moved', summary: '\u009b1mloud' },
      matchedTerms: [],
    });

    await sender.send(alert, { type: 'console' });

    expect(controlCharactersIn(output())).toEqual([]);
  });

  it('refuses a channel of another type without retrying', async () => {
    const { stream } = captureStream(false);
    const sender = createConsoleSender({ stream });

    const sending = sender.send(makeAlert(), { type: 'outbox' });

    await expect(sending).rejects.toBeInstanceOf(DeliveryError);
    await expect(sending).rejects.toMatchObject({ retryable: false, channel: 'console' });
  });
});

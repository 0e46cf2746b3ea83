/**
 * The SES sender with nodemailer's real SES transport and the SDK's real
 * `SendEmailCommand` and exception classes; only the client is a test one,
 * since SES itself cannot run here: it records each command or throws what
 * SES throws.
 */
import {
  AccountSuspendedException,
  BadRequestException,
  LimitExceededException,
  MailFromDomainNotVerifiedException,
  MessageRejected,
  SendEmailCommand,
  type SendEmailCommandInput,
  SendingPausedException,
  TooManyRequestsException,
} from '@aws-sdk/client-sesv2';
import { simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { createSesSender, sesDeliveryError } from '../../shared/adapters/ses-sender.ts';
import { DeliveryError } from '../../shared/alerts/delivery-error.ts';
import { makeAlert } from './alert-fixture.ts';
import { makeDigest, UNSUBSCRIBE } from './email-fixture.ts';

const FROM = 'wirewatch <alerts@wirewatch.example>';
const TO = { type: 'email', to: 'analyst@example.org' } as const;
const metadata = { httpStatusCode: 400, requestId: 'req-1' };

/** A client shaped like `SESv2Client`: records commands, or fails with `failure`. */
function testClient(failure?: unknown) {
  const commands: unknown[] = [];
  return {
    commands,
    async send(command: unknown): Promise<{ MessageId?: string }> {
      commands.push(command);
      if (failure !== undefined) throw failure;
      return { MessageId: `0100-${commands.length}` };
    },
  };
}

function inputOf(command: unknown): SendEmailCommandInput {
  expect(command).toBeInstanceOf(SendEmailCommand);
  return (command as SendEmailCommand).input;
}

describe('SES sender', () => {
  it('sends the alert as a raw MIME message from the SES identity', async () => {
    const client = testClient();
    const sender = createSesSender({ sesClient: client, from: FROM });

    const receipt = await sender.send(makeAlert({ unsubscribe: UNSUBSCRIBE }), TO);

    expect(receipt).toEqual({});
    expect(client.commands).toHaveLength(1);
    const input = inputOf(client.commands[0]);
    expect(input.FromEmailAddress).toBe('wirewatch <alerts@wirewatch.example>');
    expect(input.Destination?.ToAddresses).toEqual(['analyst@example.org']);
    const raw = input.Content?.Raw?.Data;
    expect(raw).toBeInstanceOf(Uint8Array);
    const mail = await simpleParser(Buffer.from(raw ?? new Uint8Array()));
    expect(mail.subject).toBe(
      '[Korea troop deployments] North Korean troops deploy to Kursk region',
    );
    expect(mail.html).toContain('<strong>troops</strong>');
    expect(mail.text).toContain('Unsubscribe from this watch');
    const listPost = mail.headerLines.find((h) => h.key === 'list-unsubscribe-post');
    expect(listPost?.line).toBe('List-Unsubscribe-Post: List-Unsubscribe=One-Click');
    expect(mail.headers.get('auto-submitted')).toBe('auto-generated');
  });

  it('sends a digest and names the configuration set', async () => {
    const client = testClient();
    const sender = createSesSender({
      sesClient: client,
      from: FROM,
      configurationSetName: 'wirewatch-events',
    });

    await sender.sendDigest(makeDigest(), TO);

    const input = inputOf(client.commands[0]);
    expect(input.ConfigurationSetName).toBe('wirewatch-events');
    const mail = await simpleParser(Buffer.from(input.Content?.Raw?.Data ?? new Uint8Array()));
    expect(mail.subject).toMatch(/^wirewatch digest: 2 alerts/);
  });

  it('cannot post follow-ups: they go in the digest', async () => {
    const client = testClient();
    const sender = createSesSender({ sesClient: client, from: FROM });
    const followUp = { alert: makeAlert(), first: { itemId: 'i', title: 't', feed: 'f' } };

    expect(sender.canFollowUp(TO)).toBe(false);
    await expect(sender.sendFollowUp(followUp, TO)).rejects.toThrow(/next digest/);
    expect(client.commands).toEqual([]);
  });

  it('reports throttling as retryable', async () => {
    const throttled = new TooManyRequestsException({
      message: 'Maximum sending rate exceeded.',
      $metadata: { httpStatusCode: 429 },
    });
    const sender = createSesSender({ sesClient: testClient(throttled), from: FROM });

    const sending = sender.send(makeAlert(), TO);

    await expect(sending).rejects.toBeInstanceOf(DeliveryError);
    await expect(sending).rejects.toMatchObject({
      retryable: true,
      channel: 'email',
      code: 'TooManyRequestsException',
    });
    await expect(sending).rejects.toThrow(/Amazon SES delivery failed \(retryable\)/);
  });

  it('reports MessageRejected as not retryable, with the reason SES gave', async () => {
    const rejected = new MessageRejected({
      message: 'Email address is not verified.',
      $metadata: metadata,
    });
    const sender = createSesSender({ sesClient: testClient(rejected), from: FROM });

    const sending = sender.sendDigest(makeDigest(), TO);

    await expect(sending).rejects.toMatchObject({ retryable: false, code: 'MessageRejected' });
    await expect(sending).rejects.toThrow(/Email address is not verified/);
  });

  it.each([
    [
      'a sending limit',
      new LimitExceededException({ message: 'limit', $metadata: metadata }),
      true,
    ],
    [
      'paused sending (a person resumes it; the alert should wait)',
      new SendingPausedException({ message: 'paused', $metadata: metadata }),
      true,
    ],
    [
      'an unverified MAIL FROM domain',
      new MailFromDomainNotVerifiedException({ message: 'mail from', $metadata: metadata }),
      false,
    ],
    [
      'a suspended account',
      new AccountSuspendedException({ message: 'suspended', $metadata: metadata }),
      false,
    ],
    ['a bad request', new BadRequestException({ message: 'bad', $metadata: metadata }), false],
    [
      'a 5xx reply',
      Object.assign(new Error('We encountered an internal error.'), {
        name: 'InternalFailure',
        $fault: 'server',
        $metadata: { httpStatusCode: 500 },
      }),
      true,
    ],
    [
      'an unknown 503',
      Object.assign(new Error('unavailable'), {
        name: 'SomethingNew',
        $metadata: { httpStatusCode: 503 },
      }),
      true,
    ],
    [
      'a reset connection',
      Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
      true,
    ],
    [
      'an unknown 4xx',
      Object.assign(new Error('nope'), {
        name: 'SomethingElse',
        $metadata: { httpStatusCode: 403 },
      }),
      false,
    ],
  ])('classifies %s', async (_name, error, retryable) => {
    const sender = createSesSender({ sesClient: testClient(error), from: FROM });

    await expect(sender.send(makeAlert(), TO)).rejects.toMatchObject({ retryable });
    expect(sesDeliveryError(error).retryable).toBe(retryable);
  });
});

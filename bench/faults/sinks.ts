/**
 * The outside world of the fault bench, each a real server on 127.0.0.1 that
 * fails on demand: the outlets' feed server (5xx, reset connections, garbage,
 * answers slower than the fetch timeout), an SMTP server (4xx, 5xx, a
 * connection dropped before the message is accepted) and a Slack webhook
 * endpoint (429 with short and long Retry-After, 5xx, dropped connections).
 * Every message the SMTP server accepts and every post Slack answers with 200
 * is a delivery, recorded with the time it arrived.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import type { Random } from '../synthetic/random.ts';
import { storyLinksIn } from './workload.ts';

/** One message a subscriber received. */
export interface Receipt {
  subscriberId: string;
  channel: 'email' | 'slack' | 'outbox';
  kind: 'alert' | 'digest';
  /** The workload links the message carries (an alert's first report; a digest's lines). */
  links: string[];
  /** The Message-ID of an email. */
  messageId?: string;
  /** When it arrived (ms since the epoch, this process's clock). */
  at: number;
}

/** How often each server fails while faults are on; 0 when off. */
export interface NetworkFaultRates {
  feed: number;
  smtpTemporary: number;
  smtpPermanent: number;
  smtpDrop: number;
  slack: number;
}

export const NO_NETWORK_FAULTS: NetworkFaultRates = {
  feed: 0,
  smtpTemporary: 0,
  smtpPermanent: 0,
  smtpDrop: 0,
  slack: 0,
};

/** Injected faults by kind, counted as they happen. */
export type FaultCounts = Record<string, number>;

export function countFault(counts: FaultCounts, kind: string, n = 1): void {
  counts[kind] = (counts[kind] ?? 0) + n;
}

/** A message the SMTP server refused for good: the pipeline must dead-letter it with the reason. */
export interface PermanentRejection {
  subscriberId: string;
  links: string[];
  messageId?: string;
}

/** The three servers, sharing one fault switch. */
export class Sinks {
  readonly receipts: Receipt[] = [];
  readonly rejections: PermanentRejection[] = [];
  readonly faults: FaultCounts = {};
  rates: NetworkFaultRates = NO_NETWORK_FAULTS;
  /** Told after each delivery is recorded, before the sender hears it was accepted. */
  onReceipt: (() => void) | undefined;
  /** Told when a feed document goes out whole (the poller is about to record and queue its items). */
  onFeedServed: (() => void) | undefined;
  private documents = new Map<string, string>();
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly random: Random,
    private readonly feedServer: Server,
    private readonly slackServer: Server,
    private readonly smtpServer: SMTPServer,
  ) {}

  static async start(random: Random): Promise<Sinks> {
    let sinks: Sinks | undefined;
    const feedServer = createServer((req, res) => sinks?.answerFeed(req, res));
    const slackServer = createServer((req, res) => {
      void sinks?.answerSlack(req, res);
    });
    const smtpServer = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      // No reverse DNS of 127.0.0.1 on every connection.
      disableReverseLookup: true,
      logger: false,
      onData: (stream, session, callback) => {
        if (!sinks) return callback(new Error('not ready'));
        sinks.answerMail(stream, session, callback);
      },
    });
    // A client killed mid-conversation resets its connection: that is the bench working.
    smtpServer.on('error', () => undefined);
    sinks = new Sinks(random, feedServer, slackServer, smtpServer);
    const owned = sinks;
    smtpServer.server.on('connection', (socket: Socket) => {
      owned.sockets.add(socket);
      socket.on('close', () => owned.sockets.delete(socket));
    });
    await Promise.all([
      listen(feedServer),
      listen(slackServer),
      new Promise<void>((resolve) => smtpServer.listen(0, '127.0.0.1', resolve)),
    ]);
    return sinks;
  }

  get feedBaseUrl(): string {
    return `http://127.0.0.1:${(this.feedServer.address() as AddressInfo).port}`;
  }

  get smtpPort(): number {
    return (this.smtpServer.server.address() as AddressInfo).port;
  }

  slackUrl(subscriberId: string): string {
    return `http://127.0.0.1:${(this.slackServer.address() as AddressInfo).port}/services/${subscriberId}`;
  }

  /** Serves these documents, by path (`/outlet-1.xml`). */
  serve(documents: Map<string, string>): void {
    this.documents = documents;
  }

  async stop(): Promise<void> {
    for (const server of [this.feedServer, this.slackServer]) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.smtpServer.close(() => resolve()));
  }

  private answerFeed(req: IncomingMessage, res: import('node:http').ServerResponse): void {
    const body = this.documents.get(req.url ?? '');
    if (body === undefined) {
      res.writeHead(404).end();
      return;
    }
    if (this.random.chance(this.rates.feed)) {
      const kind = this.random.pick(['500', '503', 'reset', 'garbage', 'slow'] as const);
      countFault(this.faults, `feed-${kind}`);
      if (kind === 'reset') {
        req.socket.destroy();
      } else if (kind === 'garbage') {
        res.writeHead(200, { 'content-type': 'application/rss+xml' });
        res.end(body.slice(0, Math.floor(body.length / 3)));
      } else if (kind === 'slow') {
        // Longer than the fetch timeout of the workload's config.
        setTimeout(() => {
          if (!res.destroyed) res.writeHead(200).end(body);
        }, 1_500);
      } else {
        res.writeHead(Number(kind)).end('unavailable');
      }
      return;
    }
    const etag = `"${createHash('sha256').update(body).digest('hex').slice(0, 16)}"`;
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, { etag }).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/rss+xml', etag }).end(body);
    this.onFeedServed?.();
  }

  private async answerSlack(
    req: IncomingMessage,
    res: import('node:http').ServerResponse,
  ): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const subscriberId = /^\/services\/([a-z0-9-]+)$/.exec(req.url ?? '')?.[1];
    if (!subscriberId) {
      res.writeHead(404).end('no_service');
      return;
    }
    if (this.random.chance(this.rates.slack)) {
      const kind = this.random.pick(['429-short', '429-long', '500', '503', 'drop'] as const);
      countFault(this.faults, `slack-${kind}`);
      if (kind === 'drop') req.socket.destroy();
      else if (kind === '429-short') res.writeHead(429, { 'retry-after': '1' }).end('rate_limited');
      else if (kind === '429-long') res.writeHead(429, { 'retry-after': '30' }).end('rate_limited');
      else res.writeHead(Number(kind)).end('service_unavailable');
      return;
    }
    const payload = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
      text?: string;
      blocks?: { type: string; text?: { text?: string } }[];
    };
    const text = JSON.stringify(payload);
    const isDigest =
      payload.blocks?.[0]?.type === 'header' &&
      (payload.blocks[0].text?.text ?? '').startsWith('wirewatch digest');
    this.receipts.push({
      subscriberId,
      channel: 'slack',
      kind: isDigest ? 'digest' : 'alert',
      links: storyLinksIn(text.replaceAll('&amp;', '&')),
      at: Date.now(),
    });
    this.onReceipt?.();
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  }

  private answerMail(
    stream: NodeJS.ReadableStream,
    session: { remotePort: number },
    callback: (error?: Error | null) => void,
  ): void {
    simpleParser(stream as import('node:stream').Readable).then(
      (mail) => {
        const to = [mail.to ?? []].flat().flatMap((a) => a.value.map((v) => v.address ?? ''));
        const subscriberId = to[0]?.replace(/@example\.org$/, '') ?? '';
        const messageId = mail.messageId;
        const parts = messageId ? messageIdParts(messageId) : [];
        const kind = parts[0] === 'digest' ? 'digest' : 'alert';
        const links = storyLinksIn(mail.text ?? '');
        const fault = this.pickMailFault();
        if (fault === 'drop') {
          countFault(this.faults, 'smtp-drop');
          // Gone before the reply: the message was never accepted.
          for (const socket of this.sockets) {
            if (socket.remotePort === session.remotePort) socket.destroy();
          }
          return;
        }
        if (fault === 'temporary') {
          countFault(this.faults, 'smtp-451');
          callback(smtpError('4.3.0 Temporary local problem, try again', 451));
          return;
        }
        if (fault === 'permanent') {
          countFault(this.faults, 'smtp-550');
          this.rejections.push({
            subscriberId,
            links,
            ...(messageId ? { messageId } : {}),
          });
          callback(smtpError('5.7.1 Message refused by policy', 550));
          return;
        }
        this.receipts.push({
          subscriberId,
          channel: 'email',
          kind,
          links,
          ...(messageId ? { messageId } : {}),
          at: Date.now(),
        });
        this.onReceipt?.();
        callback();
      },
      (error: Error) => callback(error),
    );
  }

  private pickMailFault(): 'drop' | 'temporary' | 'permanent' | undefined {
    const { smtpDrop, smtpTemporary, smtpPermanent } = this.rates;
    const roll = this.random.next();
    if (roll < smtpDrop) return 'drop';
    if (roll < smtpDrop + smtpTemporary) return 'temporary';
    if (roll < smtpDrop + smtpTemporary + smtpPermanent) return 'permanent';
    return undefined;
  }
}

function smtpError(message: string, responseCode: number): Error {
  return Object.assign(new Error(message), { responseCode });
}

/** The parts wirewatch encodes in a Message-ID: `[subscriber, alertId]` or `['digest', subscriber, digestId]`. */
export function messageIdParts(messageId: string): string[] {
  const local = /^<?([^@]+)@/.exec(messageId)?.[1] ?? '';
  return Buffer.from(local, 'base64url').toString('utf8').split('\u0000');
}

function listen(server: Server): Promise<void> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
}

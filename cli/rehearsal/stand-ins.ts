/**
 * What the rehearsal puts where AWS's neighbours would be, and reads back:
 * a Slack incoming-webhook stand-in, and the headers of the raw emails SES
 * captured.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SentEmail } from './aws-endpoint.ts';

/**
 * A stand-in for Slack's incoming webhooks: keeps every post and answers
 * `ok`, except the first `outage` posts, which get a 503 as during an outage.
 */
export async function startSlack(
  outage: number,
): Promise<{ server: Server; url: string; posts: unknown[]; refused: () => number }> {
  const posts: unknown[] = [];
  let refused = 0;
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      if (refused < outage) {
        refused += 1;
        response.writeHead(503, { 'Content-Type': 'text/plain' });
        response.end('service unavailable');
        return;
      }
      try {
        posts.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        response.writeHead(200, { 'Content-Type': 'text/plain' });
        response.end('ok');
      } catch {
        response.writeHead(400, { 'Content-Type': 'text/plain' });
        response.end('invalid_payload');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    url: `http://127.0.0.1:${port}/services/T0REHEARSAL/B0REHEARSAL/rehearsal`,
    posts,
    refused: () => refused,
  };
}

/** How many items of `values` repeat an earlier one. */
export function duplicates(values: string[]): number {
  return values.length - new Set(values).size;
}

/** The Message-ID header of a raw email. */
export function messageIdOf(email: SentEmail): string {
  const text = email.raw.toString('utf8');
  const headers = text.slice(0, text.search(/\r?\n\r?\n/)).replace(/\r?\n[ \t]+/g, ' ');
  return /^Message-ID:\s*(.*)$/im.exec(headers)?.[1]?.trim() ?? email.messageId;
}

export async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** The first `List-Unsubscribe` http(s) link of the sent emails (RFC 2369: `<url>, <mailto:...>`). */
export function unsubscribeLinkOf(emails: SentEmail[]): string | undefined {
  for (const email of emails) {
    const text = email.raw.toString('utf8');
    const headers = text.slice(0, text.search(/\r?\n\r?\n/)).replace(/\r?\n[ \t]+/g, ' ');
    const value = /^List-Unsubscribe:(.*)$/im.exec(headers)?.[1] ?? '';
    const link = /<(https?:\/\/[^>]+)>/.exec(value)?.[1];
    if (link) return link;
  }
  return undefined;
}

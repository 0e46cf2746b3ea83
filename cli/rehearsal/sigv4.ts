/**
 * AWS Signature Version 4, checked the way AWS checks it: the canonical
 * request rebuilt from what arrived (method, path, query, the signed
 * headers, the payload hash), signed with the caller's secret key, and
 * compared with the signature sent, with the session token required.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string): Buffer =>
  createHmac('sha256', key).update(data, 'utf8').digest();

/** RFC 3986 encoding as SigV4 wants it (unreserved characters kept). */
function uriEncode(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/**
 * Checks a request's Signature Version 4 against the caller's secret key and
 * session token, as AWS does; returns why it fails, or undefined when it holds.
 */
export function signatureProblem(
  request: Pick<IncomingMessage, 'method' | 'url' | 'headers'>,
  body: Buffer,
  credentials: { secretAccessKey: string; sessionToken: string },
): string | undefined {
  const match =
    /^AWS4-HMAC-SHA256 Credential=([^,]+), ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(
      request.headers.authorization ?? '',
    );
  if (!match) return 'the Authorization header is not a Signature Version 4 header';
  const [, credential = '', signedHeaderList = '', signature = ''] = match;
  const [, date = '', region = '', service = ''] = credential.split('/');
  const amzDate = String(request.headers['x-amz-date'] ?? '');
  if (request.headers['x-amz-security-token'] !== credentials.sessionToken) {
    return 'the security token included in the request is invalid';
  }
  const signedHeaders = signedHeaderList.split(';');
  if (!signedHeaders.includes('host') || !signedHeaders.includes('x-amz-security-token')) {
    return 'host and x-amz-security-token must be signed';
  }
  const url = new URL(request.url ?? '/', 'http://endpoint');
  const path = url.pathname
    .split('/')
    .map((segment) => uriEncode(decodeURIComponent(segment)))
    .map((segment) => uriEncode(segment))
    .join('/');
  const query = [...url.searchParams]
    .map(([k, v]) => [uriEncode(k), uriEncode(v)])
    .sort(([a = '', x = ''], [b = '', y = '']) => (a === b ? (x < y ? -1 : 1) : a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const headers = signedHeaders
    .map((name) => {
      const value = request.headers[name];
      const text = Array.isArray(value) ? value.join(',') : String(value ?? '');
      return `${name}:${text.trim().replace(/\s+/g, ' ')}\n`;
    })
    .join('');
  const payloadHash = String(request.headers['x-amz-content-sha256'] ?? sha256(body));
  const canonical = [request.method, path, query, headers, signedHeaderList, payloadHash].join(
    '\n',
  );
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
  let key = hmac(`AWS4${credentials.secretAccessKey}`, date);
  for (const part of [region, service, 'aws4_request']) key = hmac(key, part);
  const expected = createHmac('sha256', key).update(stringToSign, 'utf8').digest();
  return timingSafeEqual(expected, Buffer.from(signature, 'hex'))
    ? undefined
    : 'The request signature we calculated does not match the signature you provided.';
}

/**
 * Fetches a feed with a conditional GET. This is the basic fetcher: the poller
 * depends only on the `FeedFetcher` signature, so a hardened one (size caps,
 * SSRF guard, manual redirects, charsets) can replace it without other changes.
 */
import packageJson from '../../package.json' with { type: 'json' };

/** The `User-Agent` wirewatch sends, so that publishers can tell who polls them. */
export const USER_AGENT = `wirewatch/${packageJson.version} (+https://github.com/wirewatch/wirewatch)`;

const ACCEPT =
  'application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, application/xml;q=0.8, text/xml;q=0.8, */*;q=0.1';

const DEFAULT_TIMEOUT_MS = 15_000;

/** Validators remembered from the previous successful fetch of the feed. */
export interface ConditionalRequest {
  etag?: string;
  lastModified?: string;
}

export interface FetchFeedOptions {
  /** Limit for the whole exchange, headers and body, in milliseconds. Default 15000. */
  timeoutMs?: number;
}

/** The feed has not changed since the validators were issued. */
export interface FeedNotModified {
  status: 'not-modified';
}

/** A fresh copy of the feed. */
export interface FetchedFeed {
  status: 'ok';
  /** The body decoded as UTF-8. */
  body: string;
  etag?: string;
  lastModified?: string;
  /** The URL after redirects. */
  finalUrl: string;
  contentType?: string;
}

export type FetchFeedResult = FeedNotModified | FetchedFeed;

/** What the poller calls; `fetchFeed` is the default implementation. */
export type FeedFetcher = (
  url: string,
  conditional: ConditionalRequest,
  options?: FetchFeedOptions,
) => Promise<FetchFeedResult>;

/** `http`: the server answered with an error status; `invalid-url`: not an http(s) URL. */
export type FeedFetchErrorKind = 'http' | 'network' | 'timeout' | 'invalid-url';

/** A feed could not be fetched; names the URL and says why. */
export class FeedFetchError extends Error {
  override readonly name = 'FeedFetchError';

  constructor(
    readonly kind: FeedFetchErrorKind,
    readonly url: string,
    message: string,
    /** HTTP status, for kind `http`. */
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Fetches `url`, sending `If-None-Match` / `If-Modified-Since` from
 * `conditional`, and following redirects.
 *
 * @throws FeedFetchError on an error status (`http`), a connection failure
 *   (`network`), the timeout (`timeout`) or a URL that is not http(s).
 */
export const fetchFeed: FeedFetcher = async (url, conditional, options = {}) => {
  const target = httpUrl(url);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const signal = AbortSignal.timeout(timeoutMs);
  const headers = new Headers({ 'User-Agent': USER_AGENT, Accept: ACCEPT });
  if (conditional.etag !== undefined) headers.set('If-None-Match', conditional.etag);
  if (conditional.lastModified !== undefined) {
    headers.set('If-Modified-Since', conditional.lastModified);
  }

  try {
    const response = await fetch(target, { headers, signal, redirect: 'follow' });
    if (response.status === 304) {
      await discardBody(response);
      return { status: 'not-modified' };
    }
    if (!response.ok) {
      await discardBody(response);
      const statusText = response.statusText === '' ? '' : ` ${response.statusText}`;
      throw new FeedFetchError(
        'http',
        url,
        `Feed ${url} answered HTTP ${response.status}${statusText}`,
        response.status,
      );
    }
    const fetched: FetchedFeed = {
      status: 'ok',
      body: await response.text(),
      finalUrl: response.url === '' ? url : response.url,
    };
    const etag = response.headers.get('etag');
    const lastModified = response.headers.get('last-modified');
    const contentType = response.headers.get('content-type');
    if (etag) fetched.etag = etag;
    if (lastModified) fetched.lastModified = lastModified;
    if (contentType) fetched.contentType = contentType;
    return fetched;
  } catch (error) {
    if (error instanceof FeedFetchError) throw error;
    if (signal.aborted) {
      throw new FeedFetchError(
        'timeout',
        url,
        `Feed ${url} timed out after ${timeoutMs} ms`,
        undefined,
        { cause: error },
      );
    }
    throw new FeedFetchError(
      'network',
      url,
      `Could not fetch feed ${url}: ${describe(error)}`,
      undefined,
      { cause: error },
    );
  }
};

function httpUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw new FeedFetchError('invalid-url', url, `Feed URL ${url} is not a valid URL`, undefined, {
      cause: error,
    });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new FeedFetchError('invalid-url', url, `Feed URL ${url} is not an http(s) URL`);
  }
  return parsed;
}

async function discardBody(response: Response): Promise<void> {
  // Cancelling frees the connection; if it fails the response is unusable anyway.
  await response.body?.cancel().catch(() => undefined);
}

/** The most specific reason Node's fetch gives (it wraps socket errors in `cause`). */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause;
  if (cause instanceof Error) {
    const code = (cause as NodeJS.ErrnoException).code;
    return code === undefined ? cause.message : `${code} (${cause.message})`;
  }
  return error.message;
}

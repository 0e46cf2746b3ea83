/**
 * Slack delivery with a bot token through the Web API (`chat.postMessage`),
 * and `createSlackSender`, which sends on either kind of Slack channel.
 */
import { DeliveryError, requireChannel } from '../alerts/delivery-error.ts';
import {
  renderSlackAlert,
  renderSlackDigest,
  renderSlackFollowUp,
  type SlackMessage,
} from '../alerts/slack.ts';
import type { Alert, AlertSender, ChannelConfig, Digest, FollowUp, SendReceipt } from '../ports.ts';
import {
  createSlackWebhookSender,
  postToSlack,
  type SlackSenderOptions,
} from './slack-webhook-sender.ts';

/** Tuning for the Web API sender. */
export interface SlackApiSenderOptions extends SlackSenderOptions {
  /** Where the Web API lives. Default `https://slack.com/api`; tests point it at a local server. */
  apiBaseUrl?: string;
}

const API_DESTINATION = 'Slack Web API (chat.postMessage)';
const DEFAULT_API_BASE_URL = 'https://slack.com/api';

/**
 * Web API errors worth trying again later. Every other `error` (the channel is
 * gone or archived, the token is revoked, the payload is refused, a scope is
 * missing) will be refused again, so it is not retryable.
 */
const RETRYABLE_API_ERRORS = new Set([
  'ratelimited',
  'rate_limited',
  'internal_error',
  'fatal_error',
  'service_unavailable',
  'request_timeout',
  'team_added_to_org',
]);

type BotChannel = { botToken: string; channelId: string };

/** Narrows a channel to the bot-token variant; a webhook channel here is a wiring mistake. */
function requireBot(channel: ChannelConfig): BotChannel {
  const slack = requireChannel(channel, 'slack');
  if (!('botToken' in slack)) {
    throw new DeliveryError('slack', {
      destination: API_DESTINATION,
      reason: 'the Web API sender was handed a webhook channel (use createSlackSender)',
      retryable: false,
      code: 'channel-mismatch',
    });
  }
  if (slack.botToken.trim() === '' || slack.channelId.trim() === '') {
    throw new DeliveryError('slack', {
      destination: API_DESTINATION,
      reason: 'the channel has an empty bot token or channel id',
      retryable: false,
      code: 'invalid_config',
    });
  }
  return slack;
}

function postMessageUrl(apiBaseUrl: string): URL {
  const base = apiBaseUrl.endsWith('/') ? apiBaseUrl : `${apiBaseUrl}/`;
  const url = new URL('chat.postMessage', base);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new Error(`apiBaseUrl must be an http(s) URL, got ${url.protocol}`);
  }
  return url;
}

/** What `chat.postMessage` answers with HTTP 200. */
interface PostMessageAnswer {
  ok: boolean;
  ts?: string;
  error?: string;
}

function readAnswer(body: string): PostMessageAnswer | undefined {
  try {
    const parsed: unknown = JSON.parse(body);
    if (typeof parsed !== 'object' || parsed === null || !('ok' in parsed)) {
      return undefined;
    }
    const { ok } = parsed;
    const ts = 'ts' in parsed && typeof parsed.ts === 'string' ? parsed.ts : undefined;
    const error = 'error' in parsed && typeof parsed.error === 'string' ? parsed.error : undefined;
    return { ok: ok === true, ts, error };
  } catch {
    return undefined;
  }
}

/**
 * Creates the Web API half of Slack delivery: posts with
 * `Authorization: Bearer <token>` and returns the message `ts` as the
 * receipt's `ref`; a follow-up is a reply in the first alert's thread.
 */
export function createSlackApiSender(options: SlackApiSenderOptions = {}): AlertSender {
  const url = postMessageUrl(options.apiBaseUrl ?? DEFAULT_API_BASE_URL);

  async function postMessage(
    channel: BotChannel,
    message: SlackMessage,
    threadTs?: string,
  ): Promise<SendReceipt> {
    const { status, body } = await postToSlack(
      {
        url,
        destination: API_DESTINATION,
        headers: { authorization: `Bearer ${channel.botToken}` },
        body: {
          channel: channel.channelId,
          ...message,
          unfurl_links: false,
          unfurl_media: false,
          ...(threadTs === undefined ? {} : { thread_ts: threadTs }),
        },
        secrets: [channel.botToken],
      },
      options,
    );
    const answer = readAnswer(body);
    if (answer === undefined) {
      // Something answered 2xx that is not the Web API (a proxy page): the post may be lost.
      throw new DeliveryError('slack', {
        destination: API_DESTINATION,
        reason: `HTTP ${status} without a Web API answer`,
        retryable: true,
        code: 'invalid_response',
      });
    }
    if (!answer.ok) {
      const error =
        answer.error !== undefined && /^[a-z_]+$/.test(answer.error)
          ? answer.error
          : 'unknown_error';
      throw new DeliveryError('slack', {
        destination: API_DESTINATION,
        reason: `Slack answered ${error}`,
        retryable: RETRYABLE_API_ERRORS.has(error),
        code: error,
      });
    }
    return answer.ts === undefined ? {} : { ref: answer.ts };
  }

  return {
    channel: 'slack',
    async send(alert: Alert, channel: ChannelConfig): Promise<SendReceipt> {
      return postMessage(requireBot(channel), renderSlackAlert(alert));
    },
    canFollowUp(): boolean {
      return true;
    },
    async sendFollowUp(followUp: FollowUp, channel: ChannelConfig): Promise<SendReceipt> {
      // Without the first alert's ts (it went out before refs were kept) the
      // follow-up still goes to the channel, as a message of its own.
      return postMessage(requireBot(channel), renderSlackFollowUp(followUp), followUp.threadRef);
    },
    async sendDigest(digest: Digest, channel: ChannelConfig): Promise<SendReceipt> {
      return postMessage(requireBot(channel), renderSlackDigest(digest));
    },
  };
}

function isBotChannel(channel: ChannelConfig): boolean {
  return channel.type === 'slack' && 'botToken' in channel;
}

/**
 * The Slack `AlertSender`: `{ webhookUrl }` channels go to the incoming
 * webhook (posts only, follow-ups wait for the digest), `{ botToken,
 * channelId }` channels to `chat.postMessage` (follow-ups reply in the
 * alert's thread).
 *
 * Both classify failures the same way: 429 (after up to three inline waits
 * for a short `Retry-After`), 408, 5xx, timeouts and network failures are
 * retryable; a destination that is gone or refuses the payload
 * (`channel_not_found`, `channel_is_archived`, `no_service`,
 * `invalid_payload`, `invalid_auth`, `token_revoked`, ...) is not. Redirects
 * are never followed, and neither the webhook URL nor the token is ever put
 * in an error.
 */
export function createSlackSender(options: SlackApiSenderOptions = {}): AlertSender {
  const webhook = createSlackWebhookSender(options);
  const api = createSlackApiSender(options);
  const pick = (channel: ChannelConfig): AlertSender => (isBotChannel(channel) ? api : webhook);
  return {
    channel: 'slack',
    send: (alert, channel) => pick(channel).send(alert, channel),
    canFollowUp: (channel) => pick(channel).canFollowUp(channel),
    sendFollowUp: (followUp, channel) => pick(channel).sendFollowUp(followUp, channel),
    sendDigest: (digest, channel) => pick(channel).sendDigest(digest, channel),
  };
}

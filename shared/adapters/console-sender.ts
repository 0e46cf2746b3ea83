import type { Writable } from 'node:stream';
import picocolors from 'picocolors';
import { DeliveryError, requireChannel } from '../alerts/delivery-error.ts';
import { blankControlCharacters, renderAlertText, type TextStyle } from '../alerts/render.ts';
import type {
  Alert,
  AlertSender,
  ChannelConfig,
  Digest,
  FirstReport,
  FollowUp,
  SendReceipt,
} from '../ports.ts';

/** Where the console sender writes, and whether it may colour its output. */
export interface ConsoleSenderOptions {
  /** Defaults to `process.stdout`. */
  stream?: Writable & { isTTY?: boolean };
  /** Defaults to colouring only when the stream is a TTY. */
  colors?: boolean;
}

type Colors = ReturnType<typeof picocolors.createColors>;

function severityColour(colors: Colors, severity: string): (text: string) => string {
  switch (severity.trim().toLowerCase()) {
    case 'critical':
    case 'high':
      return (text) => colors.bold(colors.red(text));
    case 'medium':
      return (text) => colors.bold(colors.yellow(text));
    case 'low':
      return (text) => colors.bold(colors.green(text));
    default:
      return (text) => colors.bold(text);
  }
}

function consoleStyle(colors: Colors): TextStyle {
  return {
    severity: (label, severity) => severityColour(colors, severity)(label),
    headline: (text) => colors.bold(text),
    label: (text) => colors.dim(text),
    highlight: (text) => colors.bold(colors.cyan(text)),
  };
}

/**
 * An `AlertSender` for `{ type: 'console' }`: prints each alert as a block of
 * text followed by a blank line, for local runs. Feed text has its control
 * characters blanked by the renderer, so an item cannot drive the terminal.
 */
export function createConsoleSender(options: ConsoleSenderOptions = {}): AlertSender {
  const stream = options.stream ?? process.stdout;
  const colors = picocolors.createColors(options.colors ?? stream.isTTY === true);
  const style = consoleStyle(colors);
  const write = (text: string): Promise<SendReceipt> =>
    new Promise<SendReceipt>((resolve, reject) => {
      stream.write(text, (error) => {
        if (error) {
          reject(
            new DeliveryError('console', {
              reason: `could not write to the output stream: ${error.message}`,
              retryable: true,
            }),
          );
        } else {
          resolve({});
        }
      });
    });
  const alsoReported = (alert: Alert, first: FirstReport): string =>
    `${colors.dim('↳ also reported by')} ${blankControlCharacters(alert.item.feed)}: ` +
    `${blankControlCharacters(alert.item.title)} ${colors.dim(`(first: ${blankControlCharacters(first.title)})`)}`;
  return {
    channel: 'console',
    async send(alert: Alert, channel: ChannelConfig): Promise<SendReceipt> {
      requireChannel(channel, 'console');
      const label = alert.kind === 'update' ? `${colors.bold('UPDATE')}\n` : '';
      return write(`${label}${renderAlertText(alert, style)}\n\n`);
    },
    canFollowUp: () => true,
    async sendFollowUp(followUp: FollowUp, channel: ChannelConfig): Promise<SendReceipt> {
      requireChannel(channel, 'console');
      return write(`${alsoReported(followUp.alert, followUp.first)}\n\n`);
    },
    async sendDigest(digest: Digest, channel: ChannelConfig): Promise<SendReceipt> {
      requireChannel(channel, 'console');
      const lines = [
        colors.bold(
          `Digest for ${digest.subscriberName ?? digest.subscriberId}: ${digest.entries.length} entries`,
        ),
        ...digest.entries.map((entry) =>
          entry.kind === 'follow-up' && entry.first
            ? alsoReported(entry.alert, entry.first)
            : `${entry.kind === 'update' ? 'UPDATE ' : ''}[${entry.alert.watchName}] ${blankControlCharacters(entry.alert.item.title)} (${blankControlCharacters(entry.alert.item.feed)})`,
        ),
      ];
      return write(`${lines.join('\n')}\n\n`);
    },
  };
}

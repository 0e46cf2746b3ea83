/** A `Logger` writing one JSON object per line, as CloudWatch Logs Insights reads them. */
import type { Logger } from '../ports.ts';

export function createJsonLogger(
  service: string,
  write: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
): Logger {
  const log = (level: string) => (message: string, fields?: Record<string, unknown>) => {
    write(
      JSON.stringify({ level, service, message, timestamp: new Date().toISOString(), ...fields }),
    );
  };
  return { info: log('INFO'), warn: log('WARN'), error: log('ERROR') };
}

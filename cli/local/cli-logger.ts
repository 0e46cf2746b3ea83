/** A `Logger` for the terminal: warnings and errors as readable lines on stderr. */
import pc from 'picocolors';
import type { Logger } from '../../shared/ports.ts';

export function createCliLogger(options: { verbose?: boolean } = {}): Logger {
  const line = (level: string, message: string, fields?: Record<string, unknown>): string => {
    const detail = fields
      ? Object.entries(fields)
          .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
          .join(' ')
      : '';
    return `${level} ${message}${detail ? ` ${pc.dim(detail)}` : ''}`;
  };
  return {
    info(message, fields) {
      if (options.verbose) process.stderr.write(`${line(pc.dim('info'), message, fields)}\n`);
    },
    warn(message, fields) {
      if (options.verbose) process.stderr.write(`${line(pc.yellow('warn'), message, fields)}\n`);
    },
    error(message, fields) {
      process.stderr.write(`${line(pc.red('error'), message, fields)}\n`);
    },
  };
}

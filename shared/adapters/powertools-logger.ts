/**
 * The `Logger` port on Powertools for AWS Lambda: one JSON object per line
 * with the service name, level and timestamp, the log level from
 * `POWERTOOLS_LOG_LEVEL`. Used by the deployed functions.
 */
import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import type { Logger } from '../ports.ts';

/** The port, and what a handler tells it about its invocation. */
export interface LambdaLogger extends Logger {
  /**
   * Puts the invocation's request id, function name and cold start on every
   * line until the next call. Without a context (a handler called by a test
   * or a harness) the lines go without them.
   */
  addContext(context: Context | undefined): void;
}

export function createPowertoolsLogger(serviceName: string): LambdaLogger {
  const logger = new PowertoolsLogger({ serviceName });
  return {
    info: (message, fields) => (fields ? logger.info(message, fields) : logger.info(message)),
    warn: (message, fields) => (fields ? logger.warn(message, fields) : logger.warn(message)),
    error: (message, fields) => (fields ? logger.error(message, fields) : logger.error(message)),
    addContext: (context) => {
      if (context) logger.addContext(context);
    },
  };
}

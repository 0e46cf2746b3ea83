/**
 * The `Logger` port on Powertools for AWS Lambda: one JSON object per line
 * with the service name, level and timestamp, the log level from
 * `POWERTOOLS_LOG_LEVEL`. Used by the deployed functions.
 */
import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import type { Logger } from '../ports.ts';

export function createPowertoolsLogger(serviceName: string): Logger {
  const logger = new PowertoolsLogger({ serviceName });
  return {
    info: (message, fields) => (fields ? logger.info(message, fields) : logger.info(message)),
    warn: (message, fields) => (fields ? logger.warn(message, fields) : logger.warn(message)),
    error: (message, fields) => (fields ? logger.error(message, fields) : logger.error(message)),
  };
}

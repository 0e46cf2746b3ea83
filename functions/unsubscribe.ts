/**
 * Unsubscribe Lambda behind a function URL: the https link of the emails'
 * `List-Unsubscribe` header. GET shows a confirmation page, POST (RFC 8058
 * one-click) records the unsubscription. Composition only; the work is
 * `handleUnsubscribeRequest`.
 *
 * Links are signed with `UNSUBSCRIBE_SECRET` of the stage's Secrets Manager
 * secret (`SECRET_ID`, a JSON object of NAME: value); during a key rotation,
 * links signed with `UNSUBSCRIBE_SECRET_PREVIOUS` are accepted too. Both are
 * read when first needed and cached for a few minutes, so a rotation applies
 * without a redeploy.
 */
import type { Context, LambdaFunctionURLEvent, LambdaFunctionURLResult } from 'aws-lambda';
import {
  sharedDocumentClient,
  sharedSecretsManagerClient,
} from '../shared/adapters/aws-clients.ts';
import { createPowertoolsLogger } from '../shared/adapters/powertools-logger.ts';
import { SecretsManagerSecretResolver } from '../shared/adapters/secrets-manager.ts';
import { DynamoUnsubscribeStore } from '../shared/adapters/unsubscribe-store.ts';
import { deployedSubscribers, StaticSubscriptionStore } from '../shared/alerts/subscriptions.ts';
import { handleFunctionUrlUnsubscribe } from '../shared/alerts/unsubscribe.ts';
import { loadConfig } from '../shared/config/config.ts';
import { requireEnv } from '../shared/config/env.ts';
import { CachedSecretResolver } from '../shared/config/secrets.ts';
import { systemClock } from '../shared/ports.ts';

/** How long the signing secrets are used before they are read again. */
const SECRET_TTL_MS = 5 * 60_000;
/** Names in the stage secret: the signing secret first, then the one it replaced. */
const SECRET_NAMES = ['UNSUBSCRIBE_SECRET', 'UNSUBSCRIBE_SECRET_PREVIOUS'] as const;

const logger = createPowertoolsLogger('unsubscribe');
const secretResolver = new CachedSecretResolver(
  new SecretsManagerSecretResolver(sharedSecretsManagerClient(), requireEnv('SECRET_ID')),
  { ttlMs: SECRET_TTL_MS, clock: systemClock, logger },
);
const store = new DynamoUnsubscribeStore(
  sharedDocumentClient(),
  requireEnv('UNSUBSCRIBES_TABLE_NAME'),
);
// Only for the subscriber's name on the page.
const config = await loadConfig(requireEnv('WIREWATCH_CONFIG'));
const subscriptions = new StaticSubscriptionStore(deployedSubscribers(config));

export const handler = async (
  event: LambdaFunctionURLEvent,
  context: Context,
): Promise<LambdaFunctionURLResult> => {
  logger.addContext(context);
  const values = await Promise.all(SECRET_NAMES.map((name) => secretResolver.resolve(name)));
  const secrets = values.filter((value): value is string => value !== undefined);
  return handleFunctionUrlUnsubscribe(event, {
    secrets,
    store,
    subscriptions,
    clock: systemClock,
    logger,
  });
};

import { FeedParseError } from '../../shared/feeds/parse.ts';

/** The `FeedParseError` that `promise` rejects with; throws if it resolves or rejects otherwise. */
export async function parseError(promise: Promise<unknown>): Promise<FeedParseError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  if (!(error instanceof FeedParseError))
    throw new Error(`expected a FeedParseError, got ${error}`);
  return error;
}

/**
 * What `wirewatch dlq` does to the embedded stack's dead letters, as one
 * interface with two implementations: on the queues themselves (by the owner
 * of the data directory) and through the control socket of the process that
 * owns it (see control-socket.ts).
 */
import { z } from 'zod';
import {
  type DeadLetter,
  DeadLetterNotFoundError,
  type LocalQueue,
} from '../../shared/adapters/local-queue.ts';

export const ITEMS_QUEUE = 'items';
export const ALERTS_QUEUE = 'alerts';

/** The embedded stack's queues, in the order commands show them. */
export const QUEUE_NAMES = [ITEMS_QUEUE, ALERTS_QUEUE] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];

export const redriveRequestSchema = z.strictObject({
  /** Both queues when absent. */
  queue: z.enum(QUEUE_NAMES).optional(),
  /** Every dead letter of the queues when absent. */
  ids: z.array(z.string().min(1)).min(1).optional(),
});
export type RedriveRequest = z.infer<typeof redriveRequestSchema>;

/** The dead letters of one queue. */
export interface QueueDeadLetters {
  queue: QueueName;
  deadLetters: DeadLetter[];
}

/** How many dead letters a redrive moved back to one queue. */
export interface Redriven {
  queue: QueueName;
  moved: number;
}

/** The dead letters of the embedded queues, wherever they are held. */
export interface DeadLetterQueues {
  /** Every queue's dead letters, oldest first. */
  list(): Promise<QueueDeadLetters[]>;
  /**
   * Moves dead letters back to their queue: all of them, or those with the
   * given ids, in the given queue or both. Rejects with
   * `DeadLetterNotFoundError`, moving nothing, when an id is in none of them.
   * A queue asked for ids it does not hold is left out of the result.
   */
  redrive(request: RedriveRequest): Promise<Redriven[]>;
}

/** The dead-letter operations on queues this process holds. */
export function queueDeadLetters(queues: Record<QueueName, LocalQueue<unknown>>): DeadLetterQueues {
  return {
    list: async () =>
      QUEUE_NAMES.map((queue) => ({ queue, deadLetters: queues[queue].listDeadLetters() })),
    redrive: async ({ queue, ids }) => {
      const names = queue ? [queue] : [...QUEUE_NAMES];
      const held = new Map(
        names.map((name) => [name, new Set(queues[name].listDeadLetters().map((d) => d.id))]),
      );
      const missing = ids?.filter((id) => ![...held.values()].some((known) => known.has(id)));
      if (missing && missing.length > 0) {
        throw new DeadLetterNotFoundError(names.join(' or '), missing);
      }
      const redriven: Redriven[] = [];
      for (const name of names) {
        const mine = ids?.filter((id) => held.get(name)?.has(id));
        if (mine?.length === 0) continue;
        redriven.push({ queue: name, moved: await queues[name].redriveDeadLetters(mine) });
      }
      return redriven;
    },
  };
}

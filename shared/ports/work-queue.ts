/**
 * A queue of work items (SQS when deployed and locally, through the same
 * adapter). Message bodies carry keys only, never personal data.
 */
export interface WorkQueue<M> {
  /** Sends every message (in batches of 10), retrying entries SQS failed; throws if some could not be sent. */
  send(messages: readonly M[]): Promise<void>;
}

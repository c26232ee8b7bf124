import { sqsClient } from '../adapters/sqs/client.js';
import { queueDefinitions, type QueueKey } from '../adapters/sqs/queues.js';
import { SqsWorkQueue } from '../adapters/sqs/work-queue.js';
import type { WorkQueue } from '../ports/work-queue.js';

/** The work queue named in queues.ts; its URL comes from the variable the stack (or local server) sets. */
export function workQueue<M>(key: QueueKey): WorkQueue<M> {
  const definition = queueDefinitions[key];
  const url = process.env[definition.envVar];
  if (!url) throw new Error(`Invalid configuration: ${definition.envVar} is not set`);
  return new SqsWorkQueue<M>(sqsClient(), url);
}

import * as z from 'zod';
import { PAYMENT_GROUP_SIZE } from './disbursement.js';

/**
 * Bodies of the work queues' messages: keys and positions only, never personal
 * data. Parsed on receipt; a body that does not parse fails its record (and
 * ends in the dead-letter queue, where the alarm shows it).
 */
const batchId = z.string().regex(/^[0-9A-HJKMNP-TV-Z]{26}$/);
const shard = z.int().min(0).max(63);
const position = z.record(z.string(), z.unknown());

export const verificationMessageSchema = z.strictObject({ batchId, shard, after: position.optional() });

export const disbursementMessageSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('shard'), batchId, shard, after: position.optional() }),
  z.strictObject({
    kind: z.literal('payments'),
    payments: z
      .array(
        z.strictObject({
          paymentId: z.string().regex(/^[0-9A-HJKMNP-TV-Z]{26}-\d{2}[0-9a-z]{20}$/),
          // A keyed hash (base32), not a personal ID.
          personHash: z.string().regex(/^[0-9a-z]{52}$/),
        }),
      )
      .min(1)
      .max(PAYMENT_GROUP_SIZE),
  }),
]);

export function parseMessage<S extends z.ZodType>(schema: S, body: string): z.output<S> {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new Error('Message body is not JSON');
  }
  const result = schema.safeParse(json);
  if (!result.success) throw new Error(`Message body does not match its schema: ${result.error.issues.map((issue) => issue.path.join('.')).join(', ')}`);
  return result.data;
}

/** The webhook queue: which delivery to attempt (a province code and an eventId derived from a batchId; no event body). */
export const webhookMessageSchema = z.strictObject({
  provinceCode: z.string().regex(/^\d{2}$/),
  eventId: z.string().regex(/^(?:g2p-)?[0-9A-HJKMNP-TV-Z]{26}-[a-z-]{1,30}(?:-[0-9]{1,16})?$/),
  since: z.iso.datetime(),
  notBefore: z.iso.datetime().optional(),
});

import * as z from 'zod';
import { deathRegisteredEventSchema, registerEventTypes, type DeathRegisteredEvent } from '../../domain/register-events.js';

/**
 * An EventBridge event as an SQS target receives it: the envelope, with the
 * register's event in `detail` (`detail-type` naming its type).
 */
const eventBridgeEnvelope = z.object({
  version: z.string(),
  'detail-type': z.enum(registerEventTypes),
  source: z.string(),
  detail: z.unknown(),
});

/**
 * A register event from a queue message body: the event itself (the register
 * sends to SQS), or an EventBridge envelope around it (a rule targets the
 * queue). Errors name paths only, never values: the body holds personal IDs.
 */
export function registerEventFromMessage(body: string): DeathRegisteredEvent {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new Error('Register event message body is not JSON');
  }
  const envelope = eventBridgeEnvelope.safeParse(json);
  const inner = envelope.success ? envelope.data.detail : json;
  const parsed = deathRegisteredEventSchema.safeParse(inner);
  if (!parsed.success) {
    throw new Error(`Register event message does not match its schema: ${parsed.error.issues.map((issue) => issue.path.join('.') || '(body)').join(', ')}`);
  }
  return parsed.data;
}

import { createHash } from 'node:crypto';
import * as z from 'zod';
import { fullNameSchema, personalIdSchema, provinceCodeSchema } from './schemas.js';

/**
 * Events from the population register (api.md, "Version 1.1 additions ->
 * Events from the population register"). Pure: the schema of the event, and
 * the rules a death applies to payments.
 */

export const registerEventTypes = ['DEATH_REGISTERED'] as const;

const calendarDate = z.iso.date();

/**
 * A death registered in the population register. Strict: an event is a
 * command that cancels payments, so a body with fields we do not know is
 * refused (422) rather than half understood. Dates: `dateOfDeath` is a real
 * date; `registeredAt` an ISO 8601 time with a zone; a death registered
 * before it happened is refused.
 */
export const deathRegisteredEventSchema = z
  .strictObject({
    eventId: z
      .string()
      .regex(/^[A-Za-z0-9._:-]{1,128}$/)
      .meta({ description: "The register's id of the event (1-128 of [A-Za-z0-9._:-]): the same eventId again is the same event." }),
    type: z.enum(registerEventTypes),
    personalId: personalIdSchema.meta({ description: 'The deceased.' }),
    dateOfDeath: calendarDate.meta({ description: 'YYYY-MM-DD.' }),
    registeredAt: z.iso.datetime({ offset: true }).meta({ description: 'When the register recorded the death, ISO 8601 with a time zone.' }),
    funeral: z
      .strictObject({
        arrangerPersonalId: personalIdSchema.meta({ description: 'The person who arranges the funeral (the payee of the funeral allowance).' }),
        arrangerName: fullNameSchema,
        provinceCode: provinceCodeSchema.meta({ description: 'The province that prepares and approves the funeral allowance.' }),
      })
      .optional()
      .meta({ description: 'When given, a funeral allowance to the arranger is prepared in a batch of the province, waiting for approval.' }),
  })
  .superRefine((event, ctx) => {
    // The earliest instant of that date anywhere on Earth (UTC+14).
    if (Date.parse(event.registeredAt) < Date.parse(`${event.dateOfDeath}T00:00:00+14:00`)) {
      ctx.addIssue({ code: 'custom', path: ['registeredAt'], message: 'must not be before dateOfDeath', params: { code: 'registered_before_death' } });
    }
    if (event.funeral && event.funeral.arrangerPersonalId === event.personalId) {
      ctx.addIssue({ code: 'custom', path: ['funeral', 'arrangerPersonalId'], message: 'must not be the deceased', params: { code: 'arranger_is_deceased' } });
    }
  })
  .meta({ id: 'DeathRegisteredEvent', description: "Signed with x-timestamp and x-signature (HMAC-SHA256 of timestamp + \".\" + raw body, with the register's secret)." });

export type DeathRegisteredEvent = z.output<typeof deathRegisteredEventSchema>;

/** A payment for a period after the month of death is not owed any more (domain.md: DECEASED before the first day of the period). */
export function isAfterDeath(period: string, dateOfDeath: string): boolean {
  return period > dateOfDeath.slice(0, 7);
}

/**
 * The content of an event, independent of key order and white space: the same
 * eventId with another content is a conflict, never a second event.
 */
export function eventFingerprint(event: DeathRegisteredEvent): string {
  const canonical = JSON.stringify([
    event.eventId,
    event.type,
    event.personalId,
    event.dateOfDeath,
    Date.parse(event.registeredAt),
    event.funeral ? [event.funeral.arrangerPersonalId, event.funeral.arrangerName, event.funeral.provinceCode] : null,
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}

/** The funeral allowance program (shared/domain/catalogues/programs.json). */
export const FUNERAL_PROGRAM = 'FUNERAL_ALLOWANCE';

/** What the register is answered (202), and again for the same eventId. */
export interface DeathEventAnswer {
  eventId: string;
  /** Payments of the deceased this event cancelled (CANCELLED DECEASED). */
  cancelledPayments: number;
  funeralAllowance: { batchId: string } | null;
  /** Payments for periods after the death that had already reached the provider: left as they are, flagged for their province. */
  paidAfterDeath: { paymentId: string; batchId: string; provinceCode: string; status: string }[];
}

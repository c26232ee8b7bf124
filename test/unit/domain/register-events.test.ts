import { describe, expect, it } from 'vitest';
import { deathRegisteredEventSchema, eventFingerprint, isAfterDeath } from '../../../shared/domain/register-events.js';

const event = {
  eventId: 'reg-1',
  type: 'DEATH_REGISTERED',
  personalId: '079185012345',
  dateOfDeath: '2026-10-20',
  registeredAt: '2026-10-21T02:00:00Z',
};

describe('death registered event', () => {
  it('accepts the event of api.md, with and without funeral', () => {
    expect(deathRegisteredEventSchema.safeParse(event).success).toBe(true);
    const funeral = { arrangerPersonalId: '001072000123', arrangerName: '  Trần Văn Bình ', provinceCode: '79' };
    const parsed = deathRegisteredEventSchema.parse({ ...event, funeral });
    expect(parsed.funeral?.arrangerName).toBe('Trần Văn Bình');
  });

  it('refuses, naming the field: an unknown type or field, a bad ID, an impossible date, a registration before the death, the deceased as arranger', () => {
    const paths = (body: unknown) => (deathRegisteredEventSchema.safeParse(body).error?.issues ?? []).map((issue) => issue.path.join('.'));
    expect(paths({ ...event, type: 'BIRTH_REGISTERED' })).toEqual(['type']);
    expect(paths({ ...event, extra: 1 })).toEqual(['']);
    expect(paths({ ...event, personalId: '79185012345' })).toEqual(['personalId']);
    expect(paths({ ...event, dateOfDeath: '2026-02-30' })).toEqual(['dateOfDeath']);
    expect(paths({ ...event, registeredAt: '2026-10-19T09:00:00Z' })).toEqual(['registeredAt']);
    // Lenient by the time zones: the 20th has begun somewhere (UTC+14) at 10:00 UTC on the 19th.
    expect(paths({ ...event, registeredAt: '2026-10-19T23:00:00Z' })).toEqual([]);
    expect(paths({ ...event, funeral: { arrangerPersonalId: event.personalId, arrangerName: 'X', provinceCode: '79' } })).toEqual(['funeral.arrangerPersonalId']);
    expect(paths({ ...event, funeral: { arrangerPersonalId: '001072000123', arrangerName: 'X', provinceCode: '99' } })).toEqual(['funeral.provinceCode']);
  });

  it('a period is after the death from the month after the month of death', () => {
    expect(isAfterDeath('2026-10', '2026-10-20')).toBe(false);
    expect(isAfterDeath('2026-09', '2026-10-01')).toBe(false);
    expect(isAfterDeath('2026-11', '2026-10-31')).toBe(true);
    expect(isAfterDeath('2027-01', '2026-12-31')).toBe(true);
  });

  it('fingerprints the content, not the bytes: the same event in another key order or time zone is the same; another date is not', () => {
    const a = deathRegisteredEventSchema.parse(event);
    const b = deathRegisteredEventSchema.parse({ registeredAt: '2026-10-21T09:00:00+07:00', dateOfDeath: '2026-10-20', personalId: '079185012345', type: 'DEATH_REGISTERED', eventId: 'reg-1' });
    const c = deathRegisteredEventSchema.parse({ ...event, dateOfDeath: '2026-10-19' });
    expect(eventFingerprint(a)).toBe(eventFingerprint(b));
    expect(eventFingerprint(a)).not.toBe(eventFingerprint(c));
  });
});

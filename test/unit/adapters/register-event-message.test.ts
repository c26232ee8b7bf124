import { describe, expect, it } from 'vitest';
import { registerEventFromMessage } from '../../../shared/adapters/sqs/register-event-message.js';

const event = { eventId: 'reg-q-1', type: 'DEATH_REGISTERED', personalId: '079185012345', dateOfDeath: '2026-10-20', registeredAt: '2026-10-21T02:00:00Z' };

describe('register event from a queue message', () => {
  it('reads the event sent to SQS as it is, and inside an EventBridge envelope (a rule targeting the queue)', () => {
    expect(registerEventFromMessage(JSON.stringify(event))).toEqual(event);
    const envelope = { version: '0', id: 'eb-1', 'detail-type': 'DEATH_REGISTERED', source: 'vn.population-register', account: '123456789012', time: '2026-10-21T02:00:01Z', region: 'ap-southeast-1', resources: [], detail: event };
    expect(registerEventFromMessage(JSON.stringify(envelope))).toEqual(event);
  });

  it('refuses a body that is not an event, naming paths only, never a value (the body holds personal IDs)', () => {
    expect(() => registerEventFromMessage('{"eventId":')).toThrow('not JSON');
    const bad = { ...event, personalId: '07918501234X', dateOfDeath: '079185012345' };
    let message = '';
    try {
      registerEventFromMessage(JSON.stringify(bad));
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('personalId');
    expect(message).toContain('dateOfDeath');
    expect(message).not.toMatch(/\d{12}/);
  });
});

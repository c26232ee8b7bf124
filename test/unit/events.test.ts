import { describe, expect, it } from 'vitest';
import { sqsEvent } from '../support/events.js';

describe('recorded SQS events', () => {
  it('have the shape Lambda delivers and carry keys, never personal ID numbers', () => {
    const event = sqsEvent('verification-batch');

    expect(event.Records.length).toBeGreaterThan(0);
    for (const record of event.Records) {
      expect(record.eventSource).toBe('aws:sqs');
      expect(record.messageId).toBeTruthy();
      expect(Number(record.attributes.ApproximateReceiveCount)).toBeGreaterThanOrEqual(1);
      expect(() => JSON.parse(record.body)).not.toThrow();
      expect(record.body).not.toMatch(/(?<!\d)\d{12}(?!\d)/);
    }
  });
});

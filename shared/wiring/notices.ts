import { MetricUnit } from '@aws-lambda-powertools/metrics';
import * as z from 'zod';
import { sandboxNotifier } from '../adapters/notifier/sandbox-notifier.js';
import { createSnsClient, SnsNotifier } from '../adapters/notifier/sns-notifier.js';
import { createNotices, noNotices, type Notices } from '../app/notices.js';
import { loadConfig } from '../config/env.js';
import { systemClock } from '../domain/dates.js';
import { logger } from '../observability/logger.js';
import { metrics } from '../observability/metrics.js';
import type { Notifier } from '../ports/notifier.js';
import type { BatchStore } from '../ports/batch-store.js';

/**
 * The notification channel, by the function's switch `NOTIFIER`: `sandbox` (the
 * local server: recorded in memory, GET /local/notifications), `sns` (deployed
 * where the stage has a channel: published to the notices topic
 * NOTICES_TOPIC_ARN, docs/decisions.md 144) or unset (no notices: the deployed
 * sandbox stage, and every function that sends none).
 */
export function createNoticesFor(batches: Pick<BatchStore, 'claimNotice'>): Notices {
  const notifier = notifierFor(process.env.NOTIFIER);
  return notifier
    ? createNotices({
        batches,
        notifier,
        clock: systemClock,
        onLost: (error, notice) => {
          logger.error('beneficiary notice lost', { ...notice, errorName: error instanceof Error ? error.name : 'unknown' });
          // Alarmed (infra/stack.ts, NoticesLostAlarm): a channel that refuses publishes loses every notice until fixed.
          metrics.addMetric('NoticesLost', MetricUnit.Count, 1);
          metrics.publishStoredMetrics();
        },
      })
    : noNotices;
}

function notifierFor(channel: string | undefined): Notifier | undefined {
  switch (channel) {
    case undefined:
    case '':
      return undefined;
    case 'sandbox':
      return sandboxNotifier;
    case 'sns':
      return new SnsNotifier(createSnsClient(), loadConfig(z.object({ NOTICES_TOPIC_ARN: z.string().startsWith('arn:') })).NOTICES_TOPIC_ARN);
    default:
      throw new Error(`Invalid configuration: NOTIFIER is ${channel}; it is sandbox, sns or unset`);
  }
}

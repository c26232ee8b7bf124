import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import * as z from 'zod';
import { systemActor } from '../../shared/app/audit.js';
import { repairKinds } from '../../shared/app/repair.js';
import { logger } from '../../shared/observability/logger.js';
import { metrics } from '../../shared/observability/metrics.js';
import { createRepairContext } from '../../shared/wiring/repair.js';

const { repair, audit, redriveWebhooks } = await createRepairContext();

/**
 * The scheduler's input: `{}` deployed (EventBridge Scheduler, every few
 * minutes). The local server's first run after a start says `nothingInFlight`:
 * its queues are new, so whatever was in flight before the restart is lost and
 * every watched batch is looked at at once.
 */
const eventSchema = z.object({ nothingInFlight: z.boolean().optional() }).loose();

/**
 * Self-repair (shared/app/repair.ts): one pass over the batches the reconciler
 * watches. A run that repaired something emits `Repairs` (and one metric per
 * kind of repair), which the stack alarms on, and logs what it did; a run with
 * nothing to repair emits nothing.
 */
export const handler = async (event: unknown, context: Context) => {
  const { nothingInFlight } = eventSchema.parse(event ?? {});
  const report = await audit.unit({ actor: systemActor('reconciler'), requestId: context.awsRequestId, action: 'repair' }, () =>
    repair.run({ nothingInFlight: nothingInFlight === true }),
  );
  if (report.repairs.length > 0) {
    metrics.addMetric('Repairs', MetricUnit.Count, report.repairs.length);
    for (const kind of repairKinds) {
      const count = report.repairs.filter((repaired) => repaired.kind === kind).length;
      if (count > 0) metrics.addMetric(`Repairs.${kind}`, MetricUnit.Count, count);
    }
    metrics.publishStoredMetrics();
    logger.warn('reconciler repaired what a failure left behind', { watched: report.watched, examined: report.examined, repairs: report.repairs });
  }
  if (report.overdueUnconfirmed > 0) {
    // Money a provider said it paid and no statement has confirmed in time: the province must ask the provider (alarmed).
    metrics.addMetric('OverdueUnconfirmedTransfers', MetricUnit.Count, report.overdueUnconfirmed);
    metrics.publishStoredMetrics();
    logger.warn('PAID transfers no settlement statement confirmed within their window', { count: report.overdueUnconfirmed });
  }
  if (report.started.length > 0) logger.info('scheduled batches started', { batchIds: report.started });
  if (report.holdsExpired > 0 || report.holdRemindersSent > 0) {
    // Routine work (held-payment expiry, issue 13), not a repair: logged, not alarmed.
    logger.info('reconciler expired held payments and reminded beneficiaries', { holdsExpired: report.holdsExpired, holdRemindersSent: report.holdRemindersSent });
  }
  // Webhook deliveries whose message was lost (locally: every pending one after a restart, the queues being new).
  const redriven = await redriveWebhooks(nothingInFlight === true);
  if (redriven > 0) logger.warn('webhook deliveries queued again', { count: redriven });
  return {
    watched: report.watched,
    examined: report.examined,
    repairs: report.repairs.length,
    started: report.started.length,
    holdsExpired: report.holdsExpired,
    holdRemindersSent: report.holdRemindersSent,
    overdueUnconfirmed: report.overdueUnconfirmed,
  };
};

import { sandboxNotifier } from '../adapters/notifier/sandbox-notifier.js';
import { createNotices, noNotices, type Notices } from '../app/notices.js';
import { systemClock } from '../domain/dates.js';
import type { BatchStore } from '../ports/batch-store.js';

/**
 * The notification channel, by the stage's switch `NOTIFIER`: `sandbox` (the
 * local server: recorded in memory, GET /local/notifications) or unset (no
 * notices: the deployed sandbox stage). A real channel (SMS) is a third value
 * and an adapter behind the same port (docs/decisions.md 107).
 */
export function createNoticesFor(batches: Pick<BatchStore, 'claimNotice'>): Notices {
  return process.env.NOTIFIER === 'sandbox' ? createNotices({ batches, notifier: sandboxNotifier, clock: systemClock }) : noNotices;
}

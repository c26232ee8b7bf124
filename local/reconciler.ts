import type { Context } from 'aws-lambda';
import { randomUUID } from 'node:crypto';

/** The reconciler function's handler (functions/reconciler/handler.ts), as the scheduler invokes it. */
export type ReconcilerHandler = (event: { nothingInFlight?: boolean }, context: Context) => Promise<{ watched: number; examined: number; repairs: number }>;

function scheduledContext(): Context {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: 'reconciler',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:ap-southeast-1:000000000000:function:reconciler',
    memoryLimitInMB: '512',
    awsRequestId: randomUUID(),
    logGroupName: '/aws/lambda/reconciler',
    logStreamName: 'local',
    getRemainingTimeInMillis: () => 60_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

export interface LocalReconciler {
  startup: { watched: number; repairs: number };
  stop(): Promise<void>;
}

/**
 * The reconciler as the deployed schedule runs it, on a timer: one run at a
 * time. The first run happens now, and is awaited so that the server serves
 * only once it has run; when the queues are new (`queuesAreNew`: the local
 * server's fauxqs starts empty), with `nothingInFlight`, so that whatever the
 * previous process had in flight is re-driven from the store at once.
 */
export async function startLocalReconciler(load: () => Promise<ReconcilerHandler>, options: { intervalMs: number; queuesAreNew: boolean }): Promise<LocalReconciler> {
  const handler = await load();
  const first = await handler({ nothingInFlight: options.queuesAreNew }, scheduledContext());
  let running: Promise<unknown> | undefined;
  let stopped = false;
  const timer = setInterval(() => {
    // One run at a time: a tick that finds the last run still going is skipped.
    if (stopped || running) return;
    running = handler({}, scheduledContext())
      .catch((error: unknown) => {
        // Name and message only: the next run tries again.
        console.error(`[reconciler] run failed: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
      })
      .finally(() => (running = undefined));
  }, options.intervalMs);
  timer.unref();
  return {
    startup: { watched: first.watched, repairs: first.repairs },
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}

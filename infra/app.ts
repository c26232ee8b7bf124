/**
 * CDK entry point (cdk.json: `npx tsx infra/app.ts`).
 *   npx cdk synth -c stage=sandbox|prod      (default sandbox)
 */
import { createPaymentsApp } from './payments-app.js';

try {
  createPaymentsApp();
} catch (error) {
  // A wrong stage or wiring is a configuration error: say what is wrong (DEBUG=1 for the stack).
  console.error(error instanceof Error ? (process.env.DEBUG ? error.stack : error.message) : error);
  process.exit(1);
}

/**
 * Builds the CDK app for one stage. `infra/app.ts` (the `cdk` entry point) and
 * the infra tests call this same function, so the tests check what synth emits.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { App, Aws, Tags, Validations, type AppProps } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { stackNameOf } from './outputs.js';
import { PaymentsStack } from './stack.js';
import { resolveStage, type StageConfig } from './stages.js';

export const projectRoot = fileURLToPath(new URL('..', import.meta.url));

export function appVersion(): string {
  const packageJson = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return packageJson.version;
}

export function stackName(stage: StageConfig): string {
  return stackNameOf(stage.name);
}

export interface PaymentsApp {
  app: App;
  stage: StageConfig;
  stack: PaymentsStack;
  nag: AwsSolutionsChecks;
}

/**
 * The stage comes from the `stage` context (`-c stage=prod`), default sandbox.
 *
 * Account: the stage's pinned account, else CDK_DEFAULT_ACCOUNT (set by the CLI
 * from the current credentials), else the unresolved `AWS::AccountId`, so that
 * synth works offline with no credentials. The region is always concrete: the
 * tables' customer-managed key needs it (`ReplicaSpecificationCannotRenderedRegion`).
 */
export function createPaymentsApp(props: AppProps = {}): PaymentsApp {
  const app = new App(props);
  const stage = resolveStage(app.node.tryGetContext('stage'), (key) => app.node.tryGetContext(key));

  const stack = new PaymentsStack(app, stackName(stage), {
    stage,
    appVersion: appVersion(),
    projectRoot,
    env: { account: stage.account ?? process.env.CDK_DEFAULT_ACCOUNT ?? Aws.ACCOUNT_ID, region: stage.region },
    description: `Non-cash social security payments platform (${stage.name})`,
    terminationProtection: stage.production,
  });
  Tags.of(app).add('project', 'social-payments');
  Tags.of(app).add('stage', stage.name);

  // cdk-nag 3 is a validation plugin (not an aspect): findings fail the synth.
  const nag = new AwsSolutionsChecks(app, { verbose: true });
  Validations.of(app).addPlugins(nag);
  return { app, stage, stack, nag };
}

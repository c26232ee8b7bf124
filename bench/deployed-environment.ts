/**
 * The environment each function gets when deployed, read from the stage's
 * synthesized template: exactly the variables the stack sets on that function
 * (no variable of another function), with the values CloudFormation would
 * fill in replaced by stand-ins of the right shape (a table name, a queue URL,
 * a secret ARN that a loopback Secrets Manager answers), plus what the Lambda
 * runtime sets (region, credentials, function name, memory).
 *
 * Used by `npm run bench:bundles` (module initialisation in the deployed
 * shape) and test/infra/cold-start.test.ts (every bundle loads with only its
 * own variables). Loads aws-cdk-lib (a few seconds), so it is imported only
 * where needed.
 */
import { readFileSync } from 'node:fs';
import type { StageName } from '../infra/stages.js';

export const STAND_IN_ACCOUNT = '000000000000';
export const STAND_IN_REGION = 'ap-southeast-1';

/**
 * Stand-ins for what the stage leaves to operators: prod's register and
 * payment gateway URLs (unset today: synth warns, and those functions fail at
 * cold start until they are set; the check runs them as they will be).
 */
export const standInContext: Partial<Record<StageName, Record<string, string>>> = {
  prod: { populationRegistryUrl: 'https://registry.invalid/api', paymentProviderUrl: 'https://provider.invalid/api' },
};

export interface DeployedFunction {
  name: string;
  memorySize: number;
  /** The template's variables of this function, stand-ins for references. */
  variables: Record<string, string>;
}

export interface DeployedShape {
  stage: StageName;
  functions: DeployedFunction[];
  /** A value of the right shape for each secret ARN the variables name (what operators or Secrets Manager put there). */
  secretValues: Map<string, string>;
}

/** Secret values in the shape each reader expects, by secret definition id (infra/constructs/app-secrets.ts). */
const secretValueById: Record<string, string> = {
  HashPepper: 'stand-in-pepper-not-secret-0123456789abcdef',
  ProviderCallbacks: JSON.stringify({ '970436': 'stand-in-callback-secret-0123', VIETTELMONEY: 'stand-in-callback-secret-0456' }),
  NationalRegistryCredentials: JSON.stringify({ apiKey: 'stand-in-registry-key' }),
  PaymentProviderCredentials: JSON.stringify({ secret: 'stand-in-gateway-secret-0123456789' }),
  RegisterEvents: JSON.stringify({ secret: 'stand-in-register-secret-0123456789' }),
};

interface TemplateResource {
  Type: string;
  Properties?: Record<string, unknown>;
}

/** Synthesizes the stage (no bundling, no CloudFormation validation) and reads every function's environment. */
export async function deployedShape(stage: StageName): Promise<DeployedShape> {
  const [{ createPaymentsApp }, { Template }] = await Promise.all([import('../infra/payments-app.js'), import('aws-cdk-lib/assertions')]);
  const cdkJson = JSON.parse(readFileSync(new URL('../cdk.json', import.meta.url), 'utf8')) as { context: Record<string, unknown> };
  const { stack } = createPaymentsApp({
    context: { ...cdkJson.context, stage, 'aws:cdk:bundling-stacks': [], ...(standInContext[stage] ?? {}) },
    builtinCloudFormationValidation: false,
  });
  const template = Template.fromStack(stack).toJSON() as { Resources: Record<string, TemplateResource> };
  const secretValues = new Map<string, string>();

  const standIn = (variable: string, value: unknown): string => {
    if (typeof value === 'string') return value;
    const ref = (value as { Ref?: unknown }).Ref;
    const resource = typeof ref === 'string' ? template.Resources[ref] : undefined;
    switch (resource?.Type) {
      case 'AWS::DynamoDB::GlobalTable':
      case 'AWS::DynamoDB::Table':
        return `stand-in-${ref as string}`;
      case 'AWS::SQS::Queue':
        return `https://sqs.${STAND_IN_REGION}.amazonaws.com/${STAND_IN_ACCOUNT}/stand-in-${ref as string}`;
      case 'AWS::SNS::Topic':
        return `arn:aws:sns:${STAND_IN_REGION}:${STAND_IN_ACCOUNT}:stand-in-${ref as string}`;
      case 'AWS::SecretsManager::Secret': {
        const arn = `arn:aws:secretsmanager:${STAND_IN_REGION}:${STAND_IN_ACCOUNT}:secret:${ref as string}-AbCdEf`;
        const secret = secretValueById[(ref as string).replace(/Secret$/, '')];
        if (secret === undefined) throw new Error(`No stand-in value for the secret ${ref as string} (bench/deployed-environment.ts secretValueById).`);
        secretValues.set(arn, secret);
        return arn;
      }
      default:
        throw new Error(`${variable}: no stand-in for ${JSON.stringify(value)} (a reference to ${resource?.Type ?? 'nothing known'}).`);
    }
  };

  const functions: DeployedFunction[] = [];
  for (const [name, fn] of stack.functions) {
    const id = stack.resolve((fn.function.node.defaultChild as unknown as { logicalId: string }).logicalId) as string;
    const properties = template.Resources[id]?.Properties ?? {};
    const given = ((properties.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {}) as Record<string, unknown>;
    functions.push({
      name,
      memorySize: Number(properties.MemorySize ?? 128),
      variables: Object.fromEntries(Object.entries(given).map(([variable, value]) => [variable, standIn(variable, value)])),
    });
  }
  return { stage, functions: functions.sort((a, b) => a.name.localeCompare(b.name)), secretValues };
}

/**
 * What the Lambda runtime sets in every execution environment (the
 * documented reserved variables a function can read), with stand-ins, and
 * the loopback endpoint that stands in for the regional Secrets Manager.
 */
export function runtimeVariables(fn: Pick<DeployedFunction, 'name' | 'memorySize'>, secretsEndpoint: string): Record<string, string> {
  return {
    AWS_REGION: STAND_IN_REGION,
    AWS_DEFAULT_REGION: STAND_IN_REGION,
    AWS_ACCESS_KEY_ID: 'stand-in',
    AWS_SECRET_ACCESS_KEY: 'stand-in',
    AWS_SESSION_TOKEN: 'stand-in',
    AWS_LAMBDA_FUNCTION_NAME: fn.name,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memorySize),
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${fn.name}`,
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
    TZ: ':UTC',
    LANG: 'en_US.UTF-8',
    // Not Lambda's: the stand-in for the regional endpoint, and silence for Node 20's SDK notice (Lambda runs Node 24).
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsEndpoint,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}

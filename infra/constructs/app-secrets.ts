import { Aws, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { StageConfig } from '../stages.js';
import type { Grantee } from './service-function.js';

interface SecretDefinitionBase {
  /** Construct id, and the fixed CloudFormation logical id `<id>Secret` (see AppSecrets). */
  id: string;
  /** Environment variable through which functions receive the secret's ARN (never its value). */
  envVar: string;
  description: string;
  /** Why the secret is not rotated automatically (acknowledges cdk-nag AwsSolutions-SMG4). */
  noRotationReason: string;
  /** Created in every stage but the sandbox (which uses sandbox stand-ins instead). */
  outsideSandboxOnly?: boolean;
}

/**
 * Where the value comes from:
 * - `generated`: Secrets Manager generates it at creation (letters and digits
 *   only, `length` characters); it is never in the template.
 * - `operatorJson`: created holding the empty JSON object `{}`; operators put
 *   the real value (`aws secretsmanager put-secret-value`). The template only
 *   ever holds `{}`, and CloudFormation does not write it again while the
 *   template's value stays `{}`, so an operator's value survives deploys.
 */
export type SecretDefinition = SecretDefinitionBase & ({ value: 'generated'; length: number } | { value: 'operatorJson' });

/**
 * The application secrets, described once. Functions receive only the ARN and
 * read the value at cold start (shared/config/secrets.ts,
 * shared/config/provider-secrets.ts); no value ever appears in the template or
 * the code.
 */
export const secretDefinitions = {
  /**
   * Pepper of the keyed hash (HMAC) of personal ID numbers and client references
   * in DynamoDB keys, and the root of the key that seals pagination cursors.
   */
  pepper: {
    id: 'HashPepper',
    envVar: 'HASH_PEPPER_SECRET_ARN',
    description:
      'Pepper of the keyed hash of personal ID numbers in DynamoDB keys and of pagination cursors. Never rotate or delete without a re-keying job (docs/deploy.md).',
    value: 'generated',
    length: 64,
    noRotationReason:
      'The pepper keys the HMAC of personal ID numbers and client references stored in DynamoDB keys: rotating it would orphan every stored key hash (lookups by person and batch reference stop finding their items), and outstanding pagination cursors would stop opening. Rotation needs a re-keying job that rewrites every hashed key under the new pepper first; until that job exists the pepper is deliberately not rotated (docs/deploy.md).',
  },
  /**
   * The payment providers' callback signing secrets: a JSON object
   * `{ "<providerCode>": "<shared secret, at least 16 characters>" }` read by
   * `provider-callbacks` (shared/config/provider-secrets.ts). Created as `{}`
   * (every callback refused with 401) and filled by operators.
   */
  providerCallbacks: {
    id: 'ProviderCallbacks',
    envVar: 'PROVIDER_SECRETS_ARN',
    description:
      'Callback signing secrets of the payment providers, JSON {"<providerCode>": "<shared secret>"}. Created as {} and filled by operators (docs/deploy.md).',
    value: 'operatorJson',
    noRotationReason:
      'Each value is a shared secret agreed with one payment provider, which signs its settlement callbacks with it: a new value only works once that provider has installed it too, so rotation is a coordinated exchange with each provider, done by operators (put-secret-value with the old and new secret agreed), not something a rotation function can do alone (docs/deploy.md).',
  },
  /**
   * The population register's signing secret for its events (POST
   * /v1/register-events, api.md 1.1): JSON `{ "secret": "<at least 16
   * characters>" }`, read by `register-events` (shared/config/register-secret.ts).
   * Created as `{}` (every event refused with 401) and filled by operators.
   */
  registerEvents: {
    id: 'RegisterEvents',
    envVar: 'REGISTER_SECRET_ARN',
    description: 'Signing secret of the population register\'s events, JSON {"secret": "<shared secret>"}. Created as {} and filled by operators (docs/deploy.md).',
    value: 'operatorJson',
    noRotationReason:
      'A shared secret agreed with the national population register, which signs its events with it: a new value works only once the register has installed it too, so rotation is a coordinated exchange done by operators, not something a rotation function can do alone (docs/deploy.md).',
  },
  /**
   * Credentials of the national population register (data-sharing platform):
   * JSON `{ "apiKey": "..." }` or `{ "bearerToken": "..." }`, read by the
   * functions that look people up (shared/adapters/population/national-registry.ts).
   * Not in the sandbox, which looks people up in its sandbox register table.
   */
  nationalRegistry: {
    id: 'NationalRegistryCredentials',
    envVar: 'NATIONAL_REGISTRY_CREDENTIALS_SECRET_ARN',
    description:
      'Credentials of the national population register, JSON {"apiKey": "..."} or {"bearerToken": "..."}. Created as {} and filled by operators (docs/deploy.md).',
    value: 'operatorJson',
    outsideSandboxOnly: true,
    noRotationReason:
      'The national population register credentials are issued by the data-sharing platform operator, not by us: a new value exists only when the platform issues one, so operators rotate it on the platform schedule with put-secret-value; a rotation function could not create credentials on the platform (docs/deploy.md).',
  },
  /**
   * The signing secret shared with the payment providers' gateway: JSON
   * `{ "secret": "<at least 16 characters>" }` (or the plain string), read
   * by the functions that send transfers
   * (shared/adapters/provider/http-provider.ts). Not in the sandbox, which
   * pays through its sandbox provider table.
   */
  paymentProvider: {
    id: 'PaymentProviderCredentials',
    envVar: 'PAYMENT_PROVIDER_SECRET_ARN',
    description:
      'Signing secret shared with the payment providers\' gateway, JSON {"secret": "..."}. Created as {} and filled by operators (docs/deploy.md).',
    value: 'operatorJson',
    outsideSandboxOnly: true,
    noRotationReason:
      'The gateway signing secret is agreed with the payment gateway operator, who verifies our transfer requests with it: a new value works only once the gateway has installed it too, so rotation is an exchange coordinated with that operator and done with put-secret-value, which a rotation function cannot do on its own (docs/deploy.md).',
  },
} as const satisfies Record<string, SecretDefinition>;

export type SecretKey = keyof typeof secretDefinitions;

/**
 * The Secrets Manager secrets of secretDefinitions, encrypted with the stack's
 * customer-managed key (the tables' key: the pepper protects that same data;
 * grants limit each decrypt to one secret through Secrets Manager).
 * Production: RETAIN (deleting the stack must not take the pepper with it, or
 * every stored key becomes unreadable; nor the providers' secrets, which would
 * have to be exchanged again). Sandbox: DESTROY, like its tables.
 */
export class AppSecrets extends Construct {
  private readonly secrets = new Map<SecretKey, secretsmanager.Secret>();
  private readonly key: kms.IKey;
  private readonly granted = new Map<Grantee, Set<SecretKey>>();

  constructor(scope: Construct, id: string, props: { stage: StageConfig; key: kms.IKey }) {
    super(scope, id);
    this.key = props.key;
    for (const [secretKey, definition] of Object.entries(secretDefinitions) as [SecretKey, SecretDefinition][]) {
      if (definition.outsideSandboxOnly && props.stage.name === 'sandbox') continue;
      const secret = new secretsmanager.Secret(this, definition.id, {
        description: `social-payments ${props.stage.name}: ${definition.description}`,
        encryptionKey: props.key,
        ...(definition.value === 'generated'
          ? {
              // A plain string (no JSON template): SecretString is the value itself.
              generateSecretString: {
                passwordLength: definition.length,
                excludePunctuation: true,
                includeSpace: false,
              },
            }
          : // `{}` in the template: no secret material, and the handler's parser accepts it.
            { secretObjectValue: {} }),
        removalPolicy: props.stage.production ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      });
      // A fixed logical id: moving or renaming this construct must never make
      // CloudFormation create a new secret (a new random value) in its place.
      (secret.node.defaultChild as secretsmanager.CfnSecret).overrideLogicalId(`${definition.id}Secret`);
      Validations.of(secret).acknowledge({ id: 'AwsSolutions-SMG4', reason: definition.noRotationReason });
      this.secrets.set(secretKey, secret);
    }
  }

  /** Whether the secret exists in this stage. */
  has(secretKey: SecretKey): boolean {
    return this.secrets.has(secretKey);
  }

  secret(secretKey: SecretKey): secretsmanager.Secret {
    const secret = this.secrets.get(secretKey);
    if (!secret) throw new Error(`No secret "${secretKey}" in this stage.`);
    return secret;
  }

  entries(): [SecretKey, secretsmanager.Secret][] {
    return [...this.secrets.entries()];
  }

  /**
   * Grants `secretsmanager:GetSecretValue` on this one secret, and `kms:Decrypt`
   * on its key only through Secrets Manager and only for this secret (encryption
   * context), and sets the ARN variable of the definition. Nothing else: no
   * DescribeSecret, no ListSecrets, no direct use of the key.
   */
  grantRead(grantee: Grantee, secretKey: SecretKey): void {
    const done = this.granted.get(grantee) ?? new Set<SecretKey>();
    if (done.has(secretKey)) return;
    done.add(secretKey);
    this.granted.set(grantee, done);

    const definition: SecretDefinition = secretDefinitions[secretKey];
    const secret = this.secret(secretKey);
    grantee.addToRolePolicy(
      new iam.PolicyStatement({
        sid: `${definition.id}SecretRead`,
        actions: ['secretsmanager:GetSecretValue'],
        resources: [secret.secretArn],
      }),
    );
    grantee.addToRolePolicy(
      new iam.PolicyStatement({
        sid: `${definition.id}SecretKey`,
        actions: ['kms:Decrypt'],
        resources: [this.key.keyArn],
        conditions: {
          StringEquals: {
            'kms:ViaService': `secretsmanager.${Aws.REGION}.amazonaws.com`,
            'kms:EncryptionContext:SecretARN': secret.secretArn,
          },
        },
      }),
    );
    grantee.addEnvironment(definition.envVar, secret.secretArn);
  }
}

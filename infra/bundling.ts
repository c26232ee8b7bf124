/**
 * How every Lambda function is bundled: the one place for the esbuild options.
 *
 * `cdk synth` bundles through NodejsFunction with exactly these values (see
 * `nodejsBundling` in constructs/service-function.ts, a mechanical translation),
 * and a benchmark can call `esbuildOptions()` to build a handler byte for byte as
 * synth does, without loading aws-cdk-lib. This module imports nothing from CDK.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BuildOptions } from 'esbuild';

/** Handler entry of a function: `functions/<name>/handler.ts`, exporting `handler`. */
export function handlerEntry(functionName: string, projectRoot = defaultProjectRoot()): string {
  return join(projectRoot, 'functions', functionName, 'handler.ts');
}

function defaultProjectRoot(): string {
  return fileURLToPath(new URL('..', import.meta.url));
}

export const esbuildSettings = {
  /** Lambda runtime nodejs24.x. */
  target: 'node24',
  platform: 'node',
  /** ESM output (index.mjs): top-level await, and the project is ESM. */
  format: 'esm',
  /** Prefer packages' ES module builds, which tree-shake (AWS SDK, Powertools). */
  mainFields: ['module', 'main'],
  minify: true,
  /**
   * Error classes set `this.name = new.target.name` (shared/domain/errors.ts):
   * keep class and function names through minification so logs and problem
   * responses name the error.
   */
  keepNames: true,
  /**
   * Linked source map (index.mjs.map) in every asset: used at run time where the
   * stage sets NODE_OPTIONS=--enable-source-maps (stages.ts `sourceMapsAtRuntime`),
   * and to map a production stack trace afterwards.
   */
  sourcemap: true,
  /** Stack traces need the mappings only: leaving sources out halves the asset. */
  sourcesContent: false,
  /**
   * The AWS SDK v3 is bundled at the versions in package-lock.json (the
   * versions tested locally), not the runtime's copy, which AWS updates on its
   * own schedule; bundled, it also initialises in about half the CPU time
   * (docs/decisions.md, Performance). External are only SDK modules that the
   * SDK loads with a dynamic import() on a path a Lambda function never takes,
   * so they are never loaded there (test/unit/bench/bundling.test.ts checks
   * that nothing external is imported statically):
   * - the credential providers after the first of the default chain: Lambda
   *   gives the role's credentials in AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/
   *   AWS_SESSION_TOKEN, which fromEnv (bundled) reads; the SSO, ini-file,
   *   process, web-identity, container and instance-metadata providers (and
   *   the STS/SSO clients they carry) are about 120 KB of every bundle;
   * - the event-stream codec: none of our DynamoDB, SQS or Secrets Manager
   *   operations streams events.
   * Were one ever reached, the runtime's copy (a version we have not tested)
   * would be the one to load: hence the test.
   */
  external: [
    '@aws-sdk/credential-provider-sso',
    '@aws-sdk/credential-provider-ini',
    '@aws-sdk/credential-provider-process',
    '@aws-sdk/credential-provider-web-identity',
    '@aws-sdk/credential-provider-http',
    '@smithy/credential-provider-imds',
    '@smithy/core/event-streams',
  ] as string[],
  /**
   * CommonJS dependencies bundled into ESM call `require()` for Node built-ins;
   * give them one.
   */
  banner: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
} as const;

/** The output file NodejsFunction writes for ESM (the handler is `index.handler`). */
export const bundleFileName = 'index.mjs';

/**
 * esbuild options equivalent to what `cdk synth` runs for one function, for
 * benchmarks and size checks: `await esbuild.build(esbuildOptions('health', outdir))`.
 */
export function esbuildOptions(functionName: string, outdir: string, projectRoot?: string): BuildOptions {
  return {
    entryPoints: [handlerEntry(functionName, projectRoot)],
    outfile: join(outdir, bundleFileName),
    bundle: true,
    target: esbuildSettings.target,
    platform: esbuildSettings.platform,
    format: esbuildSettings.format,
    mainFields: [...esbuildSettings.mainFields],
    minify: esbuildSettings.minify,
    keepNames: esbuildSettings.keepNames,
    sourcemap: esbuildSettings.sourcemap,
    sourcesContent: esbuildSettings.sourcesContent,
    external: [...esbuildSettings.external],
    banner: { js: esbuildSettings.banner },
  };
}

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
  /** Linked source map (index.mjs.map), used with NODE_OPTIONS=--enable-source-maps. */
  sourcemap: true,
  /** Stack traces need the mappings only: leaving sources out halves the asset. */
  sourcesContent: false,
  /**
   * Nothing external: the AWS SDK v3 is bundled at the versions in
   * package-lock.json (the versions tested locally), not the runtime's copy,
   * which AWS updates on its own schedule.
   */
  external: [] as string[],
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

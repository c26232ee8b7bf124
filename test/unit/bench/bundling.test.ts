import { builtinModules } from 'node:module';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { esbuildOptions, esbuildSettings } from '../../../infra/bundling.js';
import { functionNames } from '../../../bench/bundles.js';

const builtin = (path: string) => path.startsWith('node:') || builtinModules.includes(path);

describe('function bundles (as cdk synth builds them)', () => {
  it('load nothing from outside the bundle at init: every external module is only reached by a dynamic import()', async () => {
    const names = await functionNames();
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) {
      const result = await build({ ...esbuildOptions(name, '/tmp/bundling-test'), write: false, metafile: true, logLevel: 'silent' });
      const outputs = Object.values(result.metafile.outputs).filter((output) => output.entryPoint);
      for (const output of outputs) {
        const staticallyExternal = output.imports.filter((entry) => entry.external && entry.kind !== 'dynamic-import' && !builtin(entry.path));
        expect(staticallyExternal.map((entry) => `${name}: ${entry.path}`)).toEqual([]);
      }
    }
  }, 120_000);

  it('mark external only the SDK modules a Lambda function never loads (lazy credential providers, event streams)', () => {
    for (const pattern of esbuildSettings.external) {
      expect(pattern).toMatch(/^@(aws-sdk\/credential-provider-(sso|ini|process|web-identity|http)|smithy\/credential-provider-imds|smithy\/core\/event-streams)$/);
    }
  });
});

// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'cdk.out/', 'bench/results/', 'coverage/', '.chaos-child/'] },
  js.configs.recommended,
  ...tseslint.configs.strict,
  {
    rules: {
      // Personal data must only reach logs through the redacting logger.
      'no-console': ['error', { allow: ['warn', 'error'] }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Tests assert on values they have just checked exist; `!` keeps them readable.
    files: ['test/**'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
  },
  {
    // Command-line programs and tests talk to a person on the terminal.
    files: ['local/**', 'bench/**', 'test/**', 'infra/**', 'scripts/**'],
    rules: { 'no-console': 'off' },
  },
);

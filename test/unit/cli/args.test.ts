import { describe, expect, it } from 'vitest';
import { DEFAULT_CONCURRENCY, DEFAULT_URL, EXIT, HELP, parseCommandLine, UsageError } from '../../../bin/upload/args.js';
import { runUpload } from '../../../bin/upload/run.js';

const required = ['batch.csv', '--program', 'SOCIAL_ALLOWANCE', '--period', '2026-11', '--province', '79'];
const env = { SP_TOKEN: 'token-from-env' };

function usageMessage(argv: string[], environment: Record<string, string | undefined> = env): string {
  try {
    parseCommandLine(argv, environment);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error('expected a UsageError');
}

describe('upload command line', () => {
  it('reads the required arguments and applies the documented defaults', () => {
    // Act
    const parsed = parseCommandLine(required, env);

    // Assess
    expect(parsed).toEqual({
      kind: 'run',
      options: {
        file: 'batch.csv',
        programCode: 'SOCIAL_ALLOWANCE',
        period: '2026-11',
        provinceCode: '79',
        batchRef: undefined,
        url: DEFAULT_URL,
        token: 'token-from-env',
        chunkSize: 5000,
        concurrency: DEFAULT_CONCURRENCY,
      },
    });
  });

  it('takes every option, in any order, and prefers --token and --url to the environment', () => {
    const parsed = parseCommandLine(
      ['--province', '79', '--concurrency', '4', 'x.csv', '--program', 'TET_GIFT', '--period', '2027-01', '--batch-ref', 'HCM-TET-2027',
        '--url', 'https://api.example.vn/', '--token', 'explicit', '--chunk-size', '500'],
      { SP_TOKEN: 'ignored', SP_URL: 'http://ignored' },
    );

    expect(parsed).toMatchObject({
      kind: 'run',
      options: { file: 'x.csv', programCode: 'TET_GIFT', batchRef: 'HCM-TET-2027', url: 'https://api.example.vn', token: 'explicit', chunkSize: 500, concurrency: 4 },
    });
  });

  it('takes the URL from SP_URL when --url is absent', () => {
    expect(parseCommandLine(required, { ...env, SP_URL: 'http://127.0.0.1:4000' })).toMatchObject({ options: { url: 'http://127.0.0.1:4000' } });
  });

  it('answers help, whatever else is given', () => {
    expect(parseCommandLine(['--help'])).toEqual({ kind: 'help' });
    expect(parseCommandLine(['-h', 'x.csv'])).toEqual({ kind: 'help' });
  });

  it('documents every exit code in the help text', () => {
    for (const code of Object.values(EXIT)) expect(HELP).toMatch(new RegExp(`^  ${code}  `, 'm'));
  });

  it.each([
    [['--program', 'SOCIAL_ALLOWANCE', '--period', '2026-11', '--province', '79'], /Name the CSV file/],
    [[...required, 'second.csv'], /exactly one CSV file/],
    [required.filter((_, index) => index !== 1 && index !== 2), /--program is required/],
    [['x.csv', '--program', 'PENSION', '--period', '2026-11', '--province', '79'], /--program must be one of SOCIAL_ALLOWANCE/],
    [['x.csv', '--program', 'SOCIAL_ALLOWANCE', '--period', '2026-13', '--province', '79'], /--period must be a month/],
    [['x.csv', '--program', 'SOCIAL_ALLOWANCE', '--period', '2026-11', '--province', '02'], /--province must be a two-digit province code/],
    [[...required, '--batch-ref', 'has space'], /--batch-ref must be 1-64 characters/],
    [[...required, '--chunk-size', '0'], /--chunk-size must be a whole number from 1 to 5000/],
    [[...required, '--chunk-size', '5001'], /--chunk-size must be a whole number from 1 to 5000/],
    [[...required, '--chunk-size', '1e3'], /--chunk-size must be a whole number/],
    [[...required, '--concurrency', '0'], /--concurrency must be a whole number from 1 to 16/],
    [[...required, '--url', 'ftp://x'], /--url must be an http/],
    [[...required, '--url', 'http://x/?q=1'], /must not carry a query/],
    [[...required, '--chunksize', '10'], /Unknown option '--chunksize'/],
  ])('refuses %j with a usage error', (argv, message) => {
    expect(usageMessage(argv)).toMatch(message);
  });

  it('has an entry point that runs only when executed, not when imported', async () => {
    const before = process.exitCode;

    const entry = await import('../../../bin/upload.js');

    expect(entry.runUpload).toBe(runUpload);
    expect(process.exitCode).toBe(before);
  });

  it('needs a token, and never echoes one it refuses', () => {
    expect(usageMessage(required, {})).toMatch(/SP_TOKEN/);
    const message = usageMessage([...required, '--token', 'Bearer secret-value']);
    expect(message).toMatch(/without "Bearer"/);
    expect(message).not.toContain('secret-value');
  });
});

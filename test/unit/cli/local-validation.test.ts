import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../../bin/upload/args.js';
import { findWarnings, InvalidFileError, readPaymentsFile, type FileProblem } from '../../../bin/upload/payments-file.js';
import { runUpload } from '../../../bin/upload/run.js';
import { startFakeApi, type FakeApi } from './fake-api.js';

const HEADER = 'paymentRef,personalId,fullName,dateOfBirth,gender,amount';
// Personal data that must never be echoed: IDs (valid and not), names, dates of birth.
const ROWS = [
  /* line 2 */ 'R-1,079185012345,Nguyễn Thị Ánh,1985-03-04,F,500000',
  /* line 3 */ 'R-2,07918501234,Trần Văn Bảy,1985-03-04,M,500000', // 11 digits
  /* line 4 */ 'R-3,079185012399,"Lê Thị ""Út"" Hoa, bà",1985-02-30,F,500000', // impossible date
  /* line 5 */ 'R-4,079085012377,Phạm Văn Đức,1985-03-04,X,500000', // gender
  /* line 6 */ 'R-5,079185012388,Võ Thị Mười,1985-03-04,F,500.000', // amount with separator
  /* line 7 */ 'R-1,079185012366,Đỗ Thị Hằng,1985-03-04,F,500000', // paymentRef repeated (first on line 2)
  /* line 8 */ 'R-7,079185012355,Hồ Văn Tám', // short row
  /* line 9 */ 'R-8,07918501235A,,2999-01-01,F,999', // three bad fields
];
const PERSONAL = ['079185012345', '07918501234', '079185012399', '079085012377', '079185012388', '079185012366', '079185012355', '07918501235A',
  'Nguyễn', 'Trần', 'Bảy', 'Út', 'Hoa', 'Phạm', 'Đức', 'Mười', 'Hằng', 'Tám', '1985-03-04', '1985-02-30', '2999-01-01'];

function problemsOf(text: string): InvalidFileError {
  try {
    readPaymentsFile(text);
  } catch (error) {
    if (error instanceof InvalidFileError) return error;
    throw error;
  }
  throw new Error('expected an InvalidFileError');
}

function expectNoPersonalData(text: string) {
  for (const value of PERSONAL) expect(text).not.toContain(value);
}

describe('local validation of the payments file', () => {
  it('reports every bad row with its line number and the field, sorted by line', () => {
    // Act
    const error = problemsOf([HEADER, ...ROWS].join('\r\n'));

    // Assess
    const byLine = (line: number) => error.problems.filter((problem) => problem.line === line).map((problem) => `${problem.code}: ${problem.message}`);
    expect(error.problems.map((problem) => problem.line)).toEqual([...error.problems.map((problem) => problem.line)].sort((a, b) => a - b));
    expect(byLine(2)).toEqual([]);
    expect(byLine(3)).toEqual([expect.stringMatching(/^invalid_personal_id_format: personalId must be exactly 12 ASCII digits/)]);
    expect(byLine(4)).toEqual([expect.stringMatching(/^invalid_date: dateOfBirth must be a real calendar date/)]);
    expect(byLine(5)).toEqual([expect.stringMatching(/^invalid_value: gender must be one of/)]);
    expect(byLine(6)).toEqual([expect.stringMatching(/^invalid_amount: amount must be a whole number of VND/)]);
    expect(byLine(7)).toEqual(['duplicate_payment_ref: paymentRef is used more than once in this file (first on line 2).']);
    expect(byLine(8)).toEqual(['csv_column_count: the row has 3 fields; the header has 6.']);
    expect(byLine(9).map((message) => message.split(':')[0])).toEqual(['invalid_personal_id_format', 'too_small', 'date_in_future', 'too_small']);
    expect(error.badRows).toBe(7);
    expectNoPersonalData(JSON.stringify(error.problems));
  });

  it('numbers lines of the file, counting line breaks inside quoted fields', () => {
    const text = `${HEADER}\n"R-1",079185012345,"Nguyễn Thị\nÁnh",1985-03-04,F,500000\nR-2,0791850,Trần Văn Bảy,1985-03-04,M,500000\n`;

    // A line break is never part of a name, but it moves every later line number.
    expect(problemsOf(text).problems).toEqual([
      { line: 2, code: 'invalid_characters', message: 'fullName must not contain control characters.' },
      expect.objectContaining({ line: 4, code: 'invalid_personal_id_format' }),
    ]);
  });

  it('reports a CSV syntax error and a wrong header by line, without quoting the content', () => {
    const syntax = problemsOf(`${HEADER}\nR-1,079185012345,Nguyễn "Thị" Ánh,1985-03-04,F,500000\n`);
    expect(syntax.problems).toEqual([{ line: 2, code: 'csv_syntax', message: expect.stringMatching(/a quote inside an unquoted field/) }]);

    const header = problemsOf('R-1,079185012345,Nguyễn Thị Ánh,1985-03-04,F,500000\n');
    expect(header.problems.length).toBeGreaterThan(0);
    expect(header.problems.every((problem: FileProblem) => problem.code === 'csv_header')).toBe(true);
    expectNoPersonalData(JSON.stringify([syntax.problems, header.problems]));
  });

  it('refuses a file with a header and no rows', () => {
    expect(problemsOf(`${HEADER}\r\n\r\n`).problems).toEqual([expect.objectContaining({ code: 'empty' })]);
  });

  it('warns, without personal data, about payments the server will reject one by one', () => {
    const file = readPaymentsFile(
      [HEADER,
        'R-1,079185012345,Nguyễn Thị Ánh,1985-03-04,F,500000',
        'R-2,079185012345,Nguyễn Thị Ánh,1985-03-04,F,500000', // same person again
        'R-3,079085012377,Phạm Văn Đức,1985-03-04,F,500000', // digit 4 says male
        'R-4,079185012388,Võ Thị Mười,1975-03-04,F,3500000', // year mismatch, over the limit
      ].join('\n'),
    );

    const warnings = findWarnings(file, 'SOCIAL_ALLOWANCE');

    expect(warnings.map((warning) => [warning.line, warning.code])).toEqual([
      [3, 'DUPLICATE_ENTITLEMENT'],
      [4, 'INVALID_ID'],
      [5, 'INVALID_ID'],
      [5, 'AMOUNT_OVER_PROGRAM_LIMIT'],
    ]);
    expectNoPersonalData(JSON.stringify(warnings));
  });
});

describe('the uploader with an invalid file', () => {
  let api: FakeApi;
  let directory: string;

  beforeAll(async () => {
    api = await startFakeApi();
    directory = await mkdtemp(join(tmpdir(), 'upload-invalid-'));
  });
  afterAll(async () => {
    await api.close();
    await rm(directory, { recursive: true, force: true });
  });

  async function run(text: string | Buffer) {
    const file = join(directory, 'bad.csv');
    await writeFile(file, text);
    let out = '';
    let err = '';
    const code = await runUpload([file, '--program', 'SOCIAL_ALLOWANCE', '--period', '2026-11', '--province', '79', '--url', api.url], {
      stdout: { write: (text: string) => (out += text) },
      stderr: { write: (text: string) => (err += text) },
      env: { SP_TOKEN: api.token },
      now: () => performance.now(),
    });
    return { code, out, err };
  }

  it('exits 2, lists every problem on stderr without personal data, and never calls the server', async () => {
    // Act
    const { code, out, err } = await run([HEADER, ...ROWS].join('\r\n'));

    // Assess
    expect(code).toBe(EXIT.INVALID_FILE);
    expect(err).toMatch(/is not a valid payments file: 10 problems in 7 rows\. Nothing was sent\./);
    expect(err).toMatch(/^ {2}line 3: personalId must be exactly 12 ASCII digits/m);
    expect(err).toMatch(/^ {2}line 8: the row has 3 fields; the header has 6\.$/m);
    expectNoPersonalData(out + err);
    expect(api.requests).toEqual([]);
  });

  it('exits 2 for a file that is not UTF-8 or does not exist', async () => {
    const latin1 = Buffer.from(`${HEADER}\nR-1,079185012345,Nguy\xeAn,1985-03-04,F,500000\n`, 'latin1');
    expect(await run(latin1)).toMatchObject({ code: EXIT.INVALID_FILE, err: expect.stringMatching(/not UTF-8/) });

    let err = '';
    const code = await runUpload([join(directory, 'missing.csv'), '--program', 'SOCIAL_ALLOWANCE', '--period', '2026-11', '--province', '79'], {
      stdout: { write: () => true },
      stderr: { write: (text: string) => (err += text) },
      env: { SP_TOKEN: 't' },
      now: () => 0,
    });
    expect(code).toBe(EXIT.INVALID_FILE);
    expect(err).toMatch(/cannot read .*missing\.csv \(ENOENT\)/);
    expect(api.requests).toEqual([]);
  });
});

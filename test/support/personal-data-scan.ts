import { isBirthRegistrationPrefix } from '../../shared/domain/catalogues.js';

/**
 * Finds personal ID numbers in text: every number a test used (anywhere in the
 * text, even inside a longer run of digits), and any other run of exactly
 * twelve digits that looks like one (a known birth-registration prefix), so
 * that an ID the test did not think of is caught too. Full account numbers the
 * test used are looked for the same way: they are personal data as well, and
 * only their last four characters may be shown.
 */

export interface PersonalIdFinding {
  /** Where the text came from (a log line, a response, a queue, a table and attribute). */
  source: string;
  /** The number found. */
  id: string;
  /** Why it counts: one of the IDs the test used, the shape of one, or a full account number the test used. */
  kind: 'used' | 'shape' | 'account';
  /** A little text around it, with the number itself masked, for the report. */
  context: string;
}

const TWELVE_DIGITS = /(?<!\d)\d{12}(?!\d)/g;

export function looksLikePersonalId(run: string): boolean {
  return /^\d{12}$/.test(run) && isBirthRegistrationPrefix(run.slice(0, 3));
}

function around(text: string, index: number, length: number): string {
  const from = Math.max(0, index - 60);
  const to = Math.min(text.length, index + length + 60);
  return `${text.slice(from, index)}<${'#'.repeat(length)}>${text.slice(index + length, to)}`.replace(/\s+/g, ' ');
}

export class PersonalIdScanner {
  private readonly used: ReadonlySet<string>;
  private readonly accounts: ReadonlySet<string>;

  constructor(usedIds: Iterable<string>, accountNumbers: Iterable<string> = []) {
    this.used = new Set(usedIds);
    this.accounts = new Set(accountNumbers);
    for (const id of this.used) if (!/^\d{12}$/.test(id)) throw new Error('the IDs to look for are 12-digit numbers');
    // Shorter ones would match by chance (amounts, times).
    for (const account of this.accounts) if (account.length < 10) throw new Error('the account numbers to look for have at least 10 characters');
  }

  scan(source: string, text: string): PersonalIdFinding[] {
    const findings: PersonalIdFinding[] = [];
    const literal = (values: ReadonlySet<string>, kind: 'used' | 'account') => {
      for (const id of values) {
        for (let at = text.indexOf(id); at >= 0; at = text.indexOf(id, at + 1)) {
          findings.push({ source, id, kind, context: around(text, at, id.length) });
        }
      }
    };
    literal(this.used, 'used');
    literal(this.accounts, 'account');
    for (const match of text.matchAll(TWELVE_DIGITS)) {
      if (this.used.has(match[0]) || !looksLikePersonalId(match[0])) continue;
      findings.push({ source, id: match[0], kind: 'shape', context: around(text, match.index, 12) });
    }
    return findings;
  }

  scanAll(items: Iterable<{ source: string; text: string }>): PersonalIdFinding[] {
    const findings: PersonalIdFinding[] = [];
    for (const { source, text } of items) findings.push(...this.scan(source, text));
    return findings;
  }
}

/** A report a person can act on: at most `limit` findings, the numbers themselves masked. */
export function describeFindings(findings: readonly PersonalIdFinding[], limit = 15): string {
  const lines = findings.slice(0, limit).map((finding) => `${finding.source} [${finding.kind} ${finding.id.slice(0, 3)}*********]: ${finding.context}`);
  if (findings.length > limit) lines.push(`... and ${findings.length - limit} more`);
  return lines.join('\n');
}

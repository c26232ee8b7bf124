import { createHmac, timingSafeEqual } from 'node:crypto';
import { ValidationFailedError } from '../domain/errors.js';
import type { PagePosition } from '../ports/batch-store.js';

const TAG_LENGTH = 43; // base64url of an HMAC-SHA256

/**
 * Opaque pagination cursors: the store's position, sealed with an HMAC over
 * the position and a binding (who asked, and which query). A cursor replayed
 * by another caller or with other filters, or altered at all, is refused (400).
 */
export class CursorCodec {
  constructor(private readonly secret: string) {}

  private tag(payload: string, binding: string): string {
    return createHmac('sha256', this.secret).update(`${binding}\u0000${payload}`).digest('base64url');
  }

  encode(position: PagePosition | undefined, binding: string): string | null {
    if (!position) return null;
    const payload = Buffer.from(JSON.stringify(position), 'utf8').toString('base64url');
    return `${payload}${this.tag(payload, binding)}`;
  }

  decode(cursor: string | undefined, binding: string): PagePosition | undefined {
    if (cursor === undefined) return undefined;
    const invalid = () =>
      new ValidationFailedError('The cursor is not valid for this caller and query. Start again without a cursor.', {
        status: 400,
        errors: [{ path: 'cursor', code: 'invalid_cursor', message: 'is not a cursor this API issued for this query' }],
      });
    if (cursor.length <= TAG_LENGTH) throw invalid();
    const payload = cursor.slice(0, -TAG_LENGTH);
    const given = Buffer.from(cursor.slice(-TAG_LENGTH));
    const expected = Buffer.from(this.tag(payload, binding));
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalid();
    try {
      const position = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as unknown;
      if (typeof position !== 'object' || position === null || Array.isArray(position)) throw invalid();
      return position as PagePosition;
    } catch {
      throw invalid();
    }
  }
}

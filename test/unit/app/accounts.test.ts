import { describe, expect, it, vi } from 'vitest';
import { createAccountUseCases } from '../../../shared/app/accounts.js';
import type { Principal, Scope } from '../../../shared/app/principal.js';
import { personHash, type PaymentRecord } from '../../../shared/domain/batch.js';
import { NotFoundError, ValidationFailedError } from '../../../shared/domain/errors.js';
import { keyedHasher } from '../../../shared/domain/keyed-hash.js';
import type { AccountLinkRecord, AccountStore } from '../../../shared/ports/account-store.js';
import type { Page } from '../../../shared/ports/batch-store.js';
import type { Citizen } from '../../../shared/ports/population-registry.js';

/**
 * Who may act on a person's account (shared/app/accounts.ts), with fakes: the
 * person, or a province for a person in its care (a payment in one of its
 * batches, found on any page; else permanent residence by the register); for
 * anyone else the one "no link" answer. The e2e access matrix covers the same
 * rule over HTTP.
 */

const hash = keyedHasher('test-pepper-of-sixteen-characters');
const ANH: Citizen = { personalId: '079185000001', fullName: 'Nguyễn Thị Ánh', dateOfBirth: '1985-03-02', gender: 'F', dateOfDeath: null, provinceCode: '48' };

function principal(scopes: Scope[], claims: Partial<Principal> = {}): Principal {
  return { sub: 'caller', scopes: new Set(scopes), provinceCode: undefined, personalId: undefined, ...claims };
}

const province = (code: string) => principal(['batches:write', 'batches:read', 'accounts:write'], { provinceCode: code, sub: `province-${code}` });

function memoryAccounts(): AccountStore & { current: Map<string, AccountLinkRecord> } {
  const current = new Map<string, AccountLinkRecord>();
  return {
    current,
    getCurrent: async (person) => current.get(person),
    getCurrentMany: async () => new Map(),
    link: async (person, link) => void current.set(person, link),
    unlink: async (person) => {
      const removed = current.get(person);
      current.delete(person);
      return removed;
    },
    history: async () => [],
  };
}

/** Pages of a person's payments, in the provinces given (one payment per page). */
function paymentsIn(provinces: string[]) {
  return vi.fn(async (_person: string, query: { after?: Record<string, unknown> | undefined }): Promise<Page<PaymentRecord>> => {
    const at = Number(query.after?.at ?? 0);
    const provinceCode = provinces[at];
    return {
      items: provinceCode ? [{ provinceCode } as PaymentRecord] : [],
      next: at + 1 < provinces.length ? { at: at + 1 } : undefined,
    };
  });
}

function useCases(options: { payments?: string[]; citizen?: Citizen } = {}) {
  const accounts = memoryAccounts();
  const lookup = vi.fn(async (ids: readonly string[]) => new Map(options.citizen && ids.includes(options.citizen.personalId) ? [[options.citizen.personalId, options.citizen]] : []));
  const listPaymentsByPerson = paymentsIn(options.payments ?? []);
  const cases = createAccountUseCases({
    accounts,
    registry: { lookup },
    payments: { listPaymentsByPerson },
    clock: { now: () => new Date('2026-12-01T00:00:00Z') },
    hash,
    newLinkId: () => 'L1',
    onLinked: async () => 0,
  });
  return { cases, accounts, lookup, listPaymentsByPerson };
}

const bank = (consentRef?: string) => ({ provider: { type: 'BANK' as const, code: '970436' }, accountNumber: '0123456789', accountName: 'NGUYEN THI ANH', ...(consentRef ? { consentRef } : {}) });

describe('account access', () => {
  it('lets a province act for a person with a payment in one of its batches, found on a later page, without asking the register', async () => {
    // Prepare: payments in Ha Noi, Da Nang, then Ho Chi Minh City
    const { cases, lookup, accounts } = useCases({ payments: ['01', '48', '79'], citizen: { ...ANH, provinceCode: '01' } });
    accounts.current.set(personHash(hash, ANH.personalId), { linkId: 'L0', personalId: ANH.personalId } as AccountLinkRecord);

    // Act
    const read = await cases.read(province('79'), ANH.personalId);

    // Assess
    expect(read.personalId).toBe(ANH.personalId);
    expect(lookup).not.toHaveBeenCalled();
  });

  it('lets a province act for a person living in it by the register, and links with one register lookup', async () => {
    const { cases, lookup } = useCases({ payments: [], citizen: ANH });

    const linked = await cases.link(province('48'), ANH.personalId, bank('CONSENT-48-1'));

    expect(linked.status).toBe('LINKED');
    expect(lookup).toHaveBeenCalledTimes(1);
  });

  it('answers any other province with the very error of "no link", whether or not a link exists, and changes nothing', async () => {
    // Prepare
    const linked = useCases({ payments: ['48'], citizen: ANH });
    linked.accounts.current.set(personHash(hash, ANH.personalId), { linkId: 'L0', personalId: ANH.personalId } as AccountLinkRecord);
    const unlinked = useCases({ payments: ['48'], citizen: ANH });

    // Act
    const outsider = [
      await linked.cases.read(province('79'), ANH.personalId).catch((error: unknown) => error),
      await linked.cases.unlink(province('79'), ANH.personalId, { consentRef: 'C' }).catch((error: unknown) => error),
      await linked.cases.link(province('79'), ANH.personalId, bank('C')).catch((error: unknown) => error),
    ];
    const noLink = await unlinked.cases.read(province('48'), ANH.personalId).catch((error: unknown) => error);

    // Assess
    for (const error of [...outsider, noLink]) {
      expect(error).toBeInstanceOf(NotFoundError);
      expect((error as Error).message).toBe((noLink as Error).message);
    }
    expect(linked.accounts.current.size).toBe(1);
  });

  it('asks a province for consent to link and to unlink, naming the field, and never the person', async () => {
    const { cases, accounts } = useCases({ payments: ['79'], citizen: ANH });

    const linkWithout = await cases.link(province('79'), ANH.personalId, bank()).catch((error: unknown) => error);
    await cases.link(principal(['beneficiary'], { personalId: ANH.personalId }), ANH.personalId, bank());
    const unlinkWithout = await cases.unlink(province('79'), ANH.personalId, {}).catch((error: unknown) => error);
    await cases.unlink(principal(['beneficiary'], { personalId: ANH.personalId }), ANH.personalId);

    for (const error of [linkWithout, unlinkWithout]) {
      expect(error).toBeInstanceOf(ValidationFailedError);
      expect((error as ValidationFailedError).errors?.[0]?.path).toBe('consentRef');
    }
    expect(accounts.current.size).toBe(0);
  });

  it('refuses a token with accounts:write but no province, and a beneficiary for another person', async () => {
    const { cases } = useCases({ payments: ['79'], citizen: ANH });

    await expect(cases.read(principal(['accounts:write']), ANH.personalId)).rejects.toBeInstanceOf(NotFoundError);
    await expect(cases.read(principal(['beneficiary'], { personalId: '001048000002' }), ANH.personalId)).rejects.toBeInstanceOf(NotFoundError);
  });
});

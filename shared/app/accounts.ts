import { personHash } from '../domain/batch.js';
import type { Clock } from '../domain/dates.js';
import { NotFoundError, ValidationFailedError, type ItemError } from '../domain/errors.js';
import type { KeyedHash } from '../domain/keyed-hash.js';
import { matchNames } from '../domain/names.js';
import { isPersonalIdFormat } from '../domain/personal-id.js';
import type { AccountLinkRequest } from '../domain/schemas.js';
import type { Principal } from './principal.js';
import type { AccountHistoryEntry, AccountLinkRecord, AccountStore } from '../ports/account-store.js';
import type { BatchStore, PagePosition } from '../ports/batch-store.js';
import type { Citizen, PopulationRegistry } from '../ports/population-registry.js';

export interface AccountDependencies {
  accounts: AccountStore;
  registry: PopulationRegistry;
  /** A person's payments (any batch, any province): whether one is in a province's batch puts the person in its care. */
  payments: Pick<BatchStore, 'listPaymentsByPerson'>;
  clock: Clock;
  hash: KeyedHash;
  newLinkId: () => string;
  /**
   * Called after a link is made: releases the person's ON_HOLD payments of
   * approved batches to disbursement (returns how many were released).
   */
  onLinked: (personHash: string, link: AccountLinkRecord) => Promise<number>;
}

/** The last four characters only (api.md: "A masked account shows the provider and the last four characters only"). */
export function maskAccountNumber(accountNumber: string): string {
  return `****${accountNumber.slice(-4)}`;
}

export function accountView(link: AccountLinkRecord, history?: AccountHistoryEntry[]) {
  return {
    personalId: link.personalId,
    provider: link.provider,
    accountNumberMasked: link.accountNumberMasked,
    accountName: link.accountName,
    linkedAt: link.linkedAt,
    status: 'LINKED' as const,
    ...(history
      ? {
          history: history.map(({ provider, accountNumberMasked, linkedAt, unlinkedAt, consentRef, unlinkConsentRef }) => ({
            provider,
            accountNumberMasked,
            linkedAt,
            unlinkedAt,
            consentRef,
            unlinkConsentRef,
          })),
        }
      : {}),
  };
}

/**
 * The one answer for "no such link", whoever asks: for a person without a link,
 * a person out of the caller's reach, and an ID that is not one. Identical
 * status, code and text, so that an answer never tells a province whether a
 * person elsewhere has an account (domain.md, "Social security accounts").
 */
const NO_LINK = 'No linked account for this person.';
const noLink = () => new NotFoundError(NO_LINK);

type Actor = { kind: 'owner' } | { kind: 'province'; provinceCode: string };

/** Payments read per page while looking for one of the province's batches (the person's newest first). */
const CARE_PAGE = 100;

export function createAccountUseCases(deps: AccountDependencies) {
  const { accounts, registry, clock, hash } = deps;

  /** Whether a payment of the person is in one of the province's batches (every page, newest first, until one is). */
  async function hasPaymentInProvince(person: string, provinceCode: string): Promise<boolean> {
    let after: PagePosition | undefined;
    do {
      const page = await deps.payments.listPaymentsByPerson(person, { limit: CARE_PAGE, after });
      if (page.items.some((payment) => payment.provinceCode === provinceCode)) return true;
      after = page.next;
    } while (after);
    return false;
  }

  /**
   * Who may act on a person's account (domain.md, "Social security accounts"):
   * the person themselves (scope beneficiary, the token's pid), or a province
   * (scope accounts:write) for a person in its care: a payment in one of its
   * batches, or permanent residence in it by the register. Anyone else is told
   * there is no link (404), whether or not there is one. The province's own
   * data is asked first; the register only when no payment answers, and its
   * answer is reused (`citizen`) by a link, which needs it anyway.
   */
  async function actorFor(principal: Principal, personalId: string, lookup: () => Promise<Citizen | undefined>): Promise<Actor> {
    if (!isPersonalIdFormat(personalId)) throw noLink();
    if (principal.scopes.has('beneficiary') && principal.personalId === personalId) return { kind: 'owner' };
    const provinceCode = principal.scopes.has('accounts:write') ? principal.provinceCode : undefined;
    if (!provinceCode) throw noLink();
    if (await hasPaymentInProvince(personHash(hash, personalId), provinceCode)) return { kind: 'province', provinceCode };
    if ((await lookup())?.provinceCode === provinceCode) return { kind: 'province', provinceCode };
    throw noLink();
  }

  /** A province names the person's consent to link and to unlink (422 naming the field without it); the person needs none. */
  function requireConsent(actor: Actor, consentRef: string | undefined, what: 'link' | 'unlink', path: string): string | null {
    if (actor.kind === 'owner') return consentRef ?? null;
    if (consentRef) return consentRef;
    throw new ValidationFailedError(`A province ${what}s an account only with the beneficiary's consent: ${path} is required.`, {
      errors: [{ path, code: 'required', message: `is required when a province ${what}s on a beneficiary's behalf` }],
    });
  }

  /** One register lookup per request at most, shared by the care check and the link's checks. */
  function registerLookup(personalId: string): () => Promise<Citizen | undefined> {
    let found: Promise<Citizen | undefined> | undefined;
    return () => (found ??= registry.lookup([personalId]).then((people) => people.get(personalId)));
  }

  return {
    async link(principal: Principal, personalId: string, request: AccountLinkRequest) {
      const lookup = registerLookup(personalId);
      const actor = await actorFor(principal, personalId, lookup);
      const consentRef = requireConsent(actor, request.consentRef, 'link', 'consentRef');
      const citizen = await lookup();
      const refusal = (error: ItemError, detail: string) => new ValidationFailedError(detail, { errors: [error] });
      if (!citizen) {
        throw refusal({ path: 'personalId', code: 'ID_NOT_FOUND', message: 'the population register does not know this person' }, 'The person cannot be verified.');
      }
      if (citizen.dateOfDeath !== null) {
        throw refusal({ path: 'personalId', code: 'DECEASED', message: 'the population register records this person as deceased' }, 'The person cannot be verified.');
      }
      if (matchNames(request.accountName, citizen.fullName) === 'MISMATCH') {
        throw refusal(
          { path: 'accountName', code: 'ACCOUNT_NAME_MISMATCH', message: "does not match the person's name in the population register" },
          'The account holder is not the beneficiary.',
        );
      }
      const link: AccountLinkRecord = {
        linkId: deps.newLinkId(),
        personalId,
        provider: request.provider,
        accountNumber: request.accountNumber,
        accountNumberMasked: maskAccountNumber(request.accountNumber),
        accountName: request.accountName,
        linkedAt: clock.now().toISOString(),
        linkedBy: principal.sub,
        consentRef,
      };
      const person = personHash(hash, personalId);
      await accounts.link(person, link);
      const released = await deps.onLinked(person, link);
      return { ...accountView(link, await accounts.history(person)), releasedPayments: released };
    },

    async read(principal: Principal, personalId: string) {
      await actorFor(principal, personalId, registerLookup(personalId));
      const person = personHash(hash, personalId);
      const current = await accounts.getCurrent(person);
      if (!current) throw noLink();
      return accountView(current, await accounts.history(person));
    },

    async unlink(principal: Principal, personalId: string, query: { consentRef?: string | undefined } = {}): Promise<void> {
      const actor = await actorFor(principal, personalId, registerLookup(personalId));
      const consentRef = requireConsent(actor, query.consentRef, 'unlink', 'consentRef');
      const removed = await accounts.unlink(personHash(hash, personalId), { at: clock.now().toISOString(), by: principal.sub, consentRef });
      if (!removed) throw noLink();
    },
  };
}

export type AccountUseCases = ReturnType<typeof createAccountUseCases>;

/** The caller's own linked account (GET /v1/me/account): needs only the account store. */
export async function readOwnAccount(deps: Pick<AccountDependencies, 'accounts' | 'hash'>, principal: Principal) {
  if (!principal.personalId) throw noLink();
  const person = personHash(deps.hash, principal.personalId);
  const current = await deps.accounts.getCurrent(person);
  if (!current) throw noLink();
  return accountView(current, await deps.accounts.history(person));
}

import { personHash } from '../domain/batch.js';
import type { Clock } from '../domain/dates.js';
import { NotFoundError, ValidationFailedError, type ItemError } from '../domain/errors.js';
import type { KeyedHash } from '../domain/keyed-hash.js';
import { matchNames } from '../domain/names.js';
import { isPersonalIdFormat } from '../domain/personal-id.js';
import type { AccountLinkRequest } from '../domain/schemas.js';
import type { Principal } from './principal.js';
import type { AccountHistoryEntry, AccountLinkRecord, AccountStore } from '../ports/account-store.js';
import type { PopulationRegistry } from '../ports/population-registry.js';

export interface AccountDependencies {
  accounts: AccountStore;
  registry: PopulationRegistry;
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
    ...(history ? { history: history.map(({ provider, accountNumberMasked, linkedAt, unlinkedAt }) => ({ provider, accountNumberMasked, linkedAt, unlinkedAt })) } : {}),
  };
}

type Actor = { kind: 'owner' } | { kind: 'province'; provinceCode: string };

/**
 * Who may act on a person's account: the beneficiary for their own ID, or a
 * province system with accounts:write. Anyone else is told the person does not
 * exist (404), so that a personal ID cannot be probed.
 */
function actorFor(principal: Principal, personalId: string): Actor {
  if (!isPersonalIdFormat(personalId)) throw new NotFoundError('No linked account for this person.');
  if (principal.scopes.has('beneficiary') && principal.personalId === personalId) return { kind: 'owner' };
  if (principal.scopes.has('accounts:write') && principal.provinceCode) return { kind: 'province', provinceCode: principal.provinceCode };
  throw new NotFoundError('No linked account for this person.');
}

export function createAccountUseCases(deps: AccountDependencies) {
  const { accounts, registry, clock, hash } = deps;

  return {
    async link(principal: Principal, personalId: string, request: AccountLinkRequest) {
      const actor = actorFor(principal, personalId);
      if (actor.kind === 'province' && !request.consentRef) {
        throw new ValidationFailedError('A province links an account only with the beneficiary\'s consent: consentRef is required.', {
          errors: [{ path: 'consentRef', code: 'required', message: 'is required when a province links on a beneficiary\'s behalf' }],
        });
      }
      const citizen = (await registry.lookup([personalId])).get(personalId);
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
        consentRef: request.consentRef ?? null,
      };
      const person = personHash(hash, personalId);
      await accounts.link(person, link);
      const released = await deps.onLinked(person, link);
      return { ...accountView(link, await accounts.history(person)), releasedPayments: released };
    },

    async read(principal: Principal, personalId: string) {
      actorFor(principal, personalId);
      const person = personHash(hash, personalId);
      const current = await accounts.getCurrent(person);
      if (!current) throw new NotFoundError('No linked account for this person.');
      return accountView(current, await accounts.history(person));
    },

    async unlink(principal: Principal, personalId: string): Promise<void> {
      actorFor(principal, personalId);
      const removed = await accounts.unlink(personHash(hash, personalId), clock.now().toISOString());
      if (!removed) throw new NotFoundError('No linked account for this person.');
    },

  };
}

export type AccountUseCases = ReturnType<typeof createAccountUseCases>;

/** The caller's own linked account (GET /v1/me/account): needs only the account store. */
export async function readOwnAccount(deps: Pick<AccountDependencies, 'accounts' | 'hash'>, principal: Principal) {
  if (!principal.personalId) throw new NotFoundError('No linked account.');
  const person = personHash(deps.hash, principal.personalId);
  const current = await deps.accounts.getCurrent(person);
  if (!current) throw new NotFoundError('No linked account.');
  return accountView(current, await deps.accounts.history(person));
}

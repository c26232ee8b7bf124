import type { DeathEventAnswer, DeathRegisteredEvent } from '../domain/register-events.js';

/**
 * A register event as stored: the event itself (it holds personal IDs, in
 * attributes only, never in a key), its fingerprint, and where its processing
 * stands. PENDING from the first delivery until every step is done; the
 * reconciler finishes a PENDING event whose request died (shared/app/repair.ts).
 */
export interface RegisterEventRecord {
  /** Keyed hash of the register's eventId: the key (the id is the register's text). */
  eventKey: string;
  fingerprint: string;
  status: 'PENDING' | 'DONE';
  event: DeathRegisteredEvent;
  /** The person's keyed hash. */
  personHash: string;
  answer: DeathEventAnswer | null;
  receivedAt: string;
  updatedAt: string;
}

/**
 * The death marker: written first by a death event, read by the disbursement
 * worker after it claims a payment's hand-off (shared/app/disbursement.ts).
 * Whichever of the two writes comes first, nothing for a period after the
 * death is handed to a provider once the marker is written.
 */
export interface DeathMarker {
  personHash: string;
  dateOfDeath: string;
  eventKey: string;
  recordedAt: string;
}

export interface RegisterEventStore {
  /** Stores the event PENDING unless its key exists; returns the stored record and whether this call wrote it. */
  claim(record: RegisterEventRecord): Promise<{ claimed: boolean; record: RegisterEventRecord }>;
  /** PENDING -> DONE with the answer (out of the reconciler's watch). */
  complete(eventKey: string, answer: DeathEventAnswer, at: string): Promise<void>;
  /** Events still PENDING that were received before `before` (the reconciler's). */
  listPending(before: string): Promise<RegisterEventRecord[]>;
  /** Writes the marker unless one exists (the first death recorded stays); returns the one that holds. */
  recordDeath(marker: DeathMarker): Promise<DeathMarker>;
  deathOf(personHash: string): Promise<DeathMarker | undefined>;
  /** The markers of these people, by person hash (one batched, strongly consistent read per 100). */
  deathsOf(personHashes: readonly string[]): Promise<Map<string, DeathMarker>>;
}

/** Reads death markers only (the disbursement worker's port). */
export type DeathMarkers = Pick<RegisterEventStore, 'deathOf' | 'deathsOf'>;

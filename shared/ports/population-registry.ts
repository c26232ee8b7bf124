import type { Gender } from '../domain/personal-id.js';

/** A person as the national population register knows them. */
export interface Citizen {
  personalId: string;
  fullName: string;
  /** YYYY-MM-DD */
  dateOfBirth: string;
  gender: Gender;
  /** YYYY-MM-DD, or null while alive. */
  dateOfDeath: string | null;
  /**
   * Two-digit code of the province (one of the 34 units) of the person's
   * permanent residence, when the register gives it (null or absent otherwise).
   * A province cares for the people who live in it (shared/app/accounts.ts).
   */
  provinceCode?: string | null;
}

/**
 * The national population register (the sandbox register locally and in the
 * sandbox stage; the national data-sharing platform in production).
 */
export interface PopulationRegistry {
  /** The people the register knows among these IDs (unknown IDs are simply absent). At most 100 IDs per call. */
  lookup(personalIds: readonly string[]): Promise<Map<string, Citizen>>;
}

/** Thrown by registry adapters for failures worth retrying later (timeouts, 5xx, throttling). */
export class RegistryUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RegistryUnavailableError';
  }
}

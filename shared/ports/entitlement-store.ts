/**
 * The entitlement register: one holder per (person, program, period), across
 * every batch of every province (domain.md "One entitlement, one payment").
 */
export interface EntitlementClaim {
  personHash: string;
  programCode: string;
  period: string;
  paymentId: string;
  batchId: string;
  /** Upload order within the batch: a lower seq of the same batch takes the entitlement over. */
  seq: number;
}

export type ClaimOutcome =
  /** This payment holds the entitlement; `supersededPaymentId` is a later item of the same batch that held it before. */
  | { held: true; supersededPaymentId: string | undefined }
  /** Another payment holds it. */
  | { held: false; holderPaymentId: string };

export interface EntitlementStore {
  /** Claims the entitlement; repeating a claim the payment already holds is a no-op (`held: true`). */
  claim(claim: EntitlementClaim): Promise<ClaimOutcome>;
  /** Releases the entitlement if (and only if) this payment holds it; true when this call released it. */
  release(claim: Pick<EntitlementClaim, 'personHash' | 'programCode' | 'period' | 'paymentId'>): Promise<boolean>;
}

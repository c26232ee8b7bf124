import type { CloudFormationCustomResourceEvent, CloudFormationCustomResourceResponse } from 'aws-lambda';

/**
 * The CloudFormation custom resource protocol, for a function that is its own
 * provider (ServiceToken = the function's ARN, no provider framework): the
 * answer is PUT to the pre-signed `ResponseURL`, always, success or not, or
 * the stack waits an hour for it.
 */
export const PHYSICAL_RESOURCE_ID = 'sandbox-register-seed';

export function customResourceResponse(
  event: CloudFormationCustomResourceEvent,
  outcome: { ok: true; data?: Record<string, string | number> } | { ok: false; reason: string },
  logStream: string,
): CloudFormationCustomResourceResponse {
  const base = {
    PhysicalResourceId: PHYSICAL_RESOURCE_ID,
    StackId: event.StackId,
    RequestId: event.RequestId,
    LogicalResourceId: event.LogicalResourceId,
  };
  return outcome.ok
    ? { ...base, Status: 'SUCCESS', Reason: `Done (log stream ${logStream})`, ...(outcome.data ? { Data: outcome.data } : {}) }
    : { ...base, Status: 'FAILED', Reason: `${outcome.reason} (log stream ${logStream})`.slice(0, 1000) };
}

/** PUTs the answer to the pre-signed URL (S3 wants no content type: it is not in the signature). */
export async function sendResponse(fetchImpl: typeof fetch, url: string, response: CloudFormationCustomResourceResponse): Promise<void> {
  const body = JSON.stringify(response);
  const answer = await fetchImpl(url, { method: 'PUT', headers: { 'content-type': '', 'content-length': String(Buffer.byteLength(body)) }, body });
  if (!answer.ok) throw new Error(`The CloudFormation response URL answered ${answer.status}`);
}

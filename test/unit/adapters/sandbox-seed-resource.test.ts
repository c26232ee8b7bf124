/** The seed function's CloudFormation custom resource answers (functions/sandbox-seed/custom-resource.ts). */
import type { CloudFormationCustomResourceCreateEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { customResourceResponse, PHYSICAL_RESOURCE_ID, sendResponse } from '../../../functions/sandbox-seed/custom-resource.js';

const event: CloudFormationCustomResourceCreateEvent = {
  RequestType: 'Create',
  ServiceToken: 'arn:aws:lambda:ap-southeast-1:000000000000:function:seed',
  ResponseURL: 'https://cloudformation-custom-resource-response.s3.amazonaws.com/signed',
  StackId: 'arn:aws:cloudformation:ap-southeast-1:000000000000:stack/SocialPayments-sandbox/1',
  RequestId: 'request-1',
  LogicalResourceId: 'SandboxRegisterSeed',
  ResourceType: 'Custom::SandboxRegisterSeed',
  ResourceProperties: { ServiceToken: 'x', size: '2000', seed: '1' },
};

describe('sandbox seed custom resource', () => {
  it('answers SUCCESS with the count, or FAILED with the reason, always under the same physical id', () => {
    expect(customResourceResponse(event, { ok: true, data: { people: 2008 } }, 'stream')).toEqual({
      Status: 'SUCCESS',
      Reason: 'Done (log stream stream)',
      PhysicalResourceId: PHYSICAL_RESOURCE_ID,
      StackId: event.StackId,
      RequestId: 'request-1',
      LogicalResourceId: 'SandboxRegisterSeed',
      Data: { people: 2008 },
    });
    const failed = customResourceResponse(event, { ok: false, reason: 'AccessDeniedException: no'.padEnd(2000, '.') }, 'stream');
    expect(failed.Status).toBe('FAILED');
    expect(failed.Reason?.length).toBe(1000);
    expect(failed.PhysicalResourceId).toBe(PHYSICAL_RESOURCE_ID);
  });

  it('PUTs the answer to the pre-signed URL with an empty content type, and fails when S3 refuses it', async () => {
    const sent: { url: string; init: RequestInit }[] = [];
    const ok = (async (url: string | URL, init?: RequestInit) => {
      sent.push({ url: String(url), init: init ?? {} });
      return new Response('', { status: 200 });
    }) as typeof fetch;
    const response = customResourceResponse(event, { ok: true }, 'stream');
    await sendResponse(ok, event.ResponseURL, response);
    expect(sent[0]?.url).toBe(event.ResponseURL);
    expect(sent[0]?.init.method).toBe('PUT');
    expect((sent[0]?.init.headers as Record<string, string>)['content-type']).toBe('');
    expect(JSON.parse(String(sent[0]?.init.body))).toEqual(response);
    const refused = (async () => new Response('', { status: 403 })) as typeof fetch;
    await expect(sendResponse(refused, event.ResponseURL, response)).rejects.toThrow(/403/);
  });
});

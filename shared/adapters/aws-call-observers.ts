/**
 * Watching the AWS calls a process makes, without changing them. Every SDK
 * client the product creates (DynamoDB, SQS, Secrets Manager) passes through
 * `observed()`, which puts one middleware on it; observers registered with
 * `observeAwsCalls()` see each call before it is sent and after it answered.
 *
 * Deployed, nobody registers an observer and the middleware only checks an
 * empty list. The local server and the test suites use it to record which
 * function made which call (the IAM proof of infra tests) and to kill a process
 * at a named point of its work (the chaos suite): test code decides what to do
 * with a call, the product only says that it happens.
 */

import type { MiddlewareStack } from '@smithy/types';

export interface AwsCall {
  /** The SDK client's service, e.g. `DynamoDB`, `SQS`, `SecretsManager`. */
  service: string;
  /** The API operation, e.g. `UpdateItem`, `SendMessageBatch`. */
  operation: string;
  /** The request as sent (DynamoDB values in their wire form: `{ S: '...' }`). */
  input: Readonly<Record<string, unknown>>;
}

export interface AwsCallObserver {
  /** Before the request leaves (after the SDK's own retries are set up: once per logical call). */
  before?(call: AwsCall): void;
  /** After the answer (or the final error) came back. */
  after?(call: AwsCall, outcome: { error?: unknown }): void;
}

const observers: AwsCallObserver[] = [];

/** Registers an observer for every call of every client; returns the function that removes it. */
export function observeAwsCalls(observer: AwsCallObserver): () => void {
  observers.push(observer);
  return () => {
    const index = observers.indexOf(observer);
    if (index >= 0) observers.splice(index, 1);
  };
}

/** Any SDK v3 client (they share one middleware stack type). */
interface ObservableClient {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- every client's stack has its own input and output types
  middlewareStack: MiddlewareStack<any, any>;
}

const serviceName = (clientName: unknown) => (typeof clientName === 'string' ? clientName.replace(/Client$/, '') : 'unknown');
const operationName = (commandName: unknown) => (typeof commandName === 'string' ? commandName.replace(/Command$/, '') : 'unknown');

/** Puts the observing middleware on a client; returns the client. */
export function observed<C extends ObservableClient>(client: C): C {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (observers.length === 0) return next(args);
      const call: AwsCall = { service: serviceName(context.clientName), operation: operationName(context.commandName), input: args.input as Record<string, unknown> };
      for (const observer of [...observers]) observer.before?.(call);
      try {
        const result = await next(args);
        for (const observer of [...observers]) observer.after?.(call, {});
        return result;
      } catch (error) {
        for (const observer of [...observers]) observer.after?.(call, { error });
        throw error;
      }
    },
    // After the document client has marshalled the input: the request as it goes on the wire, once per call.
    { step: 'build', name: 'awsCallObservers', priority: 'low' },
  );
  return client;
}

import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { StorageError } from '../../core/errors.js';

/** Starts a function asynchronously with an event: what a verify longer than one invocation uses to go on. */
export type Invoker = (functionName: string, event: unknown) => Promise<void>;

/** The Lambda invocation could not be queued. */
export class InvokeError extends StorageError {
  public override readonly name: string = 'InvokeError';
}

/**
 * An asynchronous invocation (InvocationType Event): Lambda queues the event and answers 202; the
 * function's own retries and on-failure destination apply to it as to an S3 event.
 */
export const lambdaInvoker =
  (client: LambdaClient): Invoker =>
  async (functionName, event) => {
    try {
      const out = await client.send(new InvokeCommand({ FunctionName: functionName, InvocationType: 'Event', Payload: Buffer.from(JSON.stringify(event)) }));
      if (out.StatusCode !== 202) throw new Error(`status ${String(out.StatusCode)}`);
    } catch (error) {
      throw new InvokeError(`cannot invoke ${functionName}: ${(error as Error).message}`, { cause: error });
    }
  };

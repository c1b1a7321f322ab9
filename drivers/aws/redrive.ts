import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { DeleteMessageCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { messageOf } from '../../core/errors.js';

/** One failed event handed back to its function (or not, and why). */
export interface RedriveResult {
  /** The SQS message id, or the local file name. */
  id: string;
  function: string;
  /** The S3 key of the event, when it is an S3 event. */
  key: string;
  outcome: 'redriven' | 'failed';
  error?: string;
}

/** `arn:aws:lambda:r:acct:function:name[:qualifier]` → the function's ARN without the qualifier. */
const unqualified = (arn: string): string => arn.split(':').slice(0, 7).join(':');

/**
 * Re-drives the failed-events queue (the functions' on-failure destination): each message's
 * `requestPayload` invoked again, asynchronously, on the function named in its
 * `requestContext.functionArn`; the message is deleted once Lambda accepted the invocation. An event
 * that fails again comes back to the queue after its retries. A message seen twice in one run ends it.
 */
export const redriveQueue = async (
  clients: { sqs: SQSClient; lambda: LambdaClient },
  queueUrl: string,
  onResult?: (result: RedriveResult) => void,
): Promise<RedriveResult[]> => {
  const results: RedriveResult[] = [];
  const seen = new Set<string>();
  for (;;) {
    const page = await clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, VisibilityTimeout: 300 }));
    const messages = (page.Messages ?? []).filter((m) => !seen.has(m.MessageId ?? ''));
    if (messages.length === 0) return results;
    for (const message of messages) {
      const id = message.MessageId ?? '';
      seen.add(id);
      let result: RedriveResult;
      try {
        const body = JSON.parse(message.Body ?? '') as { requestContext?: { functionArn?: string }; requestPayload?: unknown };
        const arn = body.requestContext?.functionArn;
        if (!arn) throw new Error('the message has no requestContext.functionArn (not from a Lambda on-failure destination)');
        const payload = body.requestPayload as { Records?: { s3?: { object?: { key?: string } } }[] } | undefined;
        const key = payload?.Records?.[0]?.s3?.object?.key ?? '';
        const fn = unqualified(arn);
        const out = await clients.lambda.send(new InvokeCommand({ FunctionName: fn, InvocationType: 'Event', Payload: Buffer.from(JSON.stringify(body.requestPayload ?? {})) }));
        if (out.StatusCode !== 202) throw new Error(`Lambda answered ${String(out.StatusCode)} to the invocation of ${fn}`);
        await clients.sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }));
        result = { id, function: fn.split(':').pop() ?? fn, key, outcome: 'redriven' };
      } catch (error) {
        result = { id, function: '', key: '', outcome: 'failed', error: messageOf(error) };
      }
      results.push(result);
      onResult?.(result);
    }
  }
};

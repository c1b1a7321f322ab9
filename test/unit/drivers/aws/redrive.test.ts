import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { redriveQueue } from '../../../../drivers/aws/redrive.js';

const QUEUE = 'https://sqs.us-east-1.amazonaws.com/123456789012/binvault-failed-events-prod';
const ARN = 'arn:aws:lambda:us-east-1:123456789012:function:binvault-prod-verify';
const s3Event = { Records: [{ eventName: 'ObjectCreated:Put', s3: { bucket: { name: 'b' }, object: { key: 'mysql/db1/binlogs/2026-12-04/binlog.000007.gz' } } }] };
/** What Lambda's on-failure destination puts in the queue. */
const destinationMessage = (id: string, body: unknown) => ({ MessageId: id, ReceiptHandle: `r-${id}`, Body: JSON.stringify(body) });

describe('redriveQueue (the failed-events queue on AWS; SQS and Lambda faked at the SDK)', () => {
  it('invokes each event again, asynchronously, on its function without the qualifier, then deletes the message', async () => {
    const sqs = mockClient(SQSClient);
    const lambda = mockClient(LambdaClient);
    sqs.on(ReceiveMessageCommand)
      .resolvesOnce({ Messages: [destinationMessage('m1', { version: '1.0', requestContext: { functionArn: `${ARN}:$LATEST`, condition: 'RetriesExhausted' }, requestPayload: s3Event })] })
      .resolves({});
    lambda.on(InvokeCommand).resolves({ StatusCode: 202 });

    const results = await redriveQueue({ sqs: sqs as unknown as SQSClient, lambda: lambda as unknown as LambdaClient }, QUEUE);

    expect(results).toEqual([{ id: 'm1', function: 'binvault-prod-verify', key: s3Event.Records[0]?.s3.object.key, outcome: 'redriven' }]);
    const invoke = lambda.commandCalls(InvokeCommand)[0]?.args[0].input;
    expect(invoke?.FunctionName).toBe(ARN);
    expect(invoke?.InvocationType).toBe('Event');
    expect(JSON.parse(Buffer.from(invoke?.Payload as Uint8Array).toString())).toEqual(s3Event);
    expect(sqs.commandCalls(DeleteMessageCommand).map((c) => c.args[0].input)).toEqual([{ QueueUrl: QUEUE, ReceiptHandle: 'r-m1' }]);
  });

  it('keeps a message it cannot re-drive (not from a destination, or refused) and says why; a message seen twice ends the run', async () => {
    const sqs = mockClient(SQSClient);
    const lambda = mockClient(LambdaClient);
    const stray = destinationMessage('m2', { hello: 'world' });
    const refused = destinationMessage('m3', { requestContext: { functionArn: ARN }, requestPayload: s3Event });
    sqs.on(ReceiveMessageCommand).resolves({ Messages: [stray, refused] });
    lambda.on(InvokeCommand).rejects(new Error('Rate exceeded'));

    const results = await redriveQueue({ sqs: sqs as unknown as SQSClient, lambda: lambda as unknown as LambdaClient }, QUEUE);

    expect(results.map((r) => [r.id, r.outcome, r.error])).toEqual([
      ['m2', 'failed', 'the message has no requestContext.functionArn (not from a Lambda on-failure destination)'],
      ['m3', 'failed', 'Rate exceeded'],
    ]);
    expect(sqs.commandCalls(DeleteMessageCommand)).toHaveLength(0);
    expect(sqs.commandCalls(ReceiveMessageCommand)).toHaveLength(2);
  });
});

import type { RedriveResult } from '../../drivers/aws/redrive.js';
import type { Command } from './command.js';
import type { CommandIo } from './io.js';

const show = (io: CommandIo, r: RedriveResult): void => {
  if (io.json) io.out(JSON.stringify(r));
  else io.out(r.outcome === 'redriven' ? `redriven ${r.function} ${r.key}` : `FAILED   ${r.function} ${r.key || r.id}: ${r.error ?? ''}`);
};

const summary = (io: CommandIo, results: RedriveResult[], where: string): number => {
  const failed = results.filter((r) => r.outcome === 'failed');
  if (!io.json) io.out(`${results.length - failed.length} event(s) re-driven, ${failed.length} still failing (${where})`);
  if (failed.length > 0) io.err(`binvault redrive: ${failed.length} event(s) still fail; they stay in ${where}`);
  return failed.length > 0 ? 1 : 0;
};

export const command: Command = {
  name: 'redrive',
  synopsis: '[--queue URL]',
  summary: 'hand the events a verify or catalog function failed on back to it',
  help: `An S3 event whose function failed three times (once and two retries) is not dropped: on AWS it
goes to the failed-events queue (the stack's output FailedEventsQueueUrl; the FailedEventsWaiting
alarm fires while it holds any), locally to BINVAULT_STATE_DIR/failed-events/. This hands each one
back to its function — on AWS an asynchronous invocation per message, the message deleted once
Lambda took it; locally the handler run here against BINVAULT_S3_ENDPOINT, the file removed once it
succeeds. The handlers are idempotent: an object verified meanwhile is not verified twice.

  --queue URL     the failed-events queue on AWS (without it: the local runtime's directory)

Exit codes: 0 every event re-driven (or none waiting), 1 some still fail (they stay).
`,
  options: { queue: { type: 'string' } },
  run: async ({ values, config, io }) => {
    if (typeof values.queue === 'string') {
      // The SQS and Lambda clients are loaded for this command only: a host's bundle stays small.
      const [{ LambdaClient }, { SQSClient }, { redriveQueue }] = await Promise.all([import('@aws-sdk/client-lambda'), import('@aws-sdk/client-sqs'), import('../../drivers/aws/redrive.js')]);
      const results = await redriveQueue({ sqs: new SQSClient({}), lambda: new LambdaClient({}) }, values.queue, (r) => show(io, r));
      return summary(io, results, values.queue);
    }
    const settings = await config();
    const { redriveLocal, failedEventsDir } = await import('../../local/cli.js');
    const results = await redriveLocal(settings, (r) => show(io, r));
    return summary(io, results, failedEventsDir(settings.stateDir));
  },
};

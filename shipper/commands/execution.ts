import { DescribeExecutionCommand, StartExecutionCommand, type DescribeExecutionCommandOutput, type SFNClient } from '@aws-sdk/client-sfn';
import type { CommandIo } from './io.js';

/**
 * Starts an execution of a deployed state machine and follows it to its end (`restore` and `drill`
 * with their AWS settings): its ARN and each new status on standard error, then its last
 * DescribeExecution for the command to report.
 */
export const followExecution = async (
  sfn: SFNClient,
  start: { stateMachineArn: string; name: string; input: unknown },
  io: CommandIo,
  pollMs: number,
): Promise<{ arn: string; described: DescribeExecutionCommandOutput }> => {
  const started = await sfn.send(new StartExecutionCommand({ stateMachineArn: start.stateMachineArn, name: start.name, input: JSON.stringify(start.input) }));
  const arn = started.executionArn ?? '';
  io.err(`started ${arn}`);
  let last = '';
  for (;;) {
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
    if (described.status !== last && !io.json) io.err(`  ${described.status ?? '?'}`);
    last = described.status ?? '';
    if (described.status !== undefined && described.status !== 'RUNNING') return { arn, described };
    await new Promise((r) => setTimeout(r, pollMs));
  }
};

import { DescribeInstancesCommand, TerminateInstancesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { GetExecutionHistoryCommand, type SFNClient } from '@aws-sdk/client-sfn';

/** The EventBridge event Step Functions sends when an execution changes status (the fields read here). */
export interface ExecutionStatusChange {
  detail: { executionArn: string; status: string };
}

/**
 * A restore or drill execution stopped from the console (ABORTED) or out of time (TIMED_OUT) never
 * reaches its Cleanup state: this finds the execution's name for its instances (ValidateInput's or
 * DrillPlan's output, from the execution's history) and terminates every instance tagged with it.
 * @returns the instances terminated
 */
export const cleanupAborted = async (clients: { sfn: SFNClient; ec2: EC2Client }, event: ExecutionStatusChange): Promise<{ execution?: string; terminated: string[] }> => {
  const { executionArn, status } = event.detail;
  if (status !== 'ABORTED' && status !== 'TIMED_OUT') return { terminated: [] };
  let execution: string | undefined;
  // A drill's instances are tagged {execution}-restored and {execution}-dump.
  let tags: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await clients.sfn.send(new GetExecutionHistoryCommand({ executionArn, includeExecutionData: true, maxResults: 1000, ...(nextToken ? { nextToken } : {}) }));
    for (const e of page.events ?? []) {
      const name = e.stateExitedEventDetails?.name;
      const output = name === 'ValidateInput' || name === 'DrillPlan' ? e.stateExitedEventDetails?.output : undefined;
      if (!output) continue;
      const state = JSON.parse(output) as { request?: { execution?: string }; drill?: { execution?: string } };
      execution = name === 'ValidateInput' ? state.request?.execution : state.drill?.execution;
      if (execution) tags = name === 'ValidateInput' ? [execution] : [`${execution}-restored`, `${execution}-dump`];
    }
    nextToken = execution ? undefined : page.nextToken;
  } while (nextToken);
  // Nothing was provisioned before the request was validated.
  if (!execution) return { terminated: [] };
  const described = await clients.ec2.send(
    new DescribeInstancesCommand({
      Filters: [
        { Name: 'tag:binvault:execution', Values: tags },
        { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] },
      ],
    }),
  );
  const ids = (described.Reservations ?? []).flatMap((r) => r.Instances ?? []).map((i) => i.InstanceId).filter((id): id is string => id !== undefined);
  if (ids.length > 0) await clients.ec2.send(new TerminateInstancesCommand({ InstanceIds: ids }));
  return { execution, terminated: ids };
};

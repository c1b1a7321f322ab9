import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { DrillStarter } from '../../core/ports.js';
import { ConfigurationError } from '../../core/errors.js';

/** The region of a state machine's ARN (arn:aws:states:REGION:ACCOUNT:stateMachine:NAME). */
export const stateMachineRegion = (arn: string): string => {
  const match = /^arn:aws[a-z-]*:states:([a-z0-9-]+):\d{12}:stateMachine:[A-Za-z0-9_-]+$/.exec(arn);
  if (!match?.[1]) throw new ConfigurationError(`BINVAULT_RESTORE_STATE_MACHINE_ARN '${arn}' is not a state machine ARN (arn:aws:states:REGION:ACCOUNT:stateMachine:NAME)`);
  return match[1];
};

/** The Step Functions client of a state machine: signed for the region its ARN names, whatever AWS_REGION says. */
export const sfnClientFor = (stateMachineArn: string): SFNClient => new SFNClient({ region: stateMachineRegion(stateMachineArn), maxAttempts: 5 });

/** Starts drill executions of the drill state machine (StartExecution), by name. */
export class SfnDrillStarter implements DrillStarter {
  public constructor(
    private readonly sfn: SFNClient,
    private readonly stateMachineArn: string,
  ) {}

  public async start(name: string, input: { host: string; window?: string; execution: string }): Promise<'started' | 'exists'> {
    try {
      await this.sfn.send(new StartExecutionCommand({ stateMachineArn: this.stateMachineArn, name, input: JSON.stringify(input) }));
      return 'started';
    } catch (error) {
      // Same name and input while it runs: success; once it ended (or other input): ExecutionAlreadyExists.
      if ((error as Error).name === 'ExecutionAlreadyExists') return 'exists';
      throw error;
    }
  }
}

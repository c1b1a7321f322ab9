import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { drillTasks } from '../../../core/restore/drill-workflow.js';
import { LONGEST_WAIT } from '../../../core/restore/workflow.js';
import { SSM_COMMAND_SECONDS } from '../../../drivers/aws/ec2-restore.js';
import { worstCaseSeconds, type AslDefinition } from '../../helpers/asl.js';

interface State {
  Type: string;
  Resource?: string;
  Next?: string;
  Default?: string;
  Retry?: { ErrorEquals: string[] }[];
  Catch?: { ErrorEquals: string[]; Next: string }[];
}
const definition = JSON.parse(readFileSync('infra/drill.asl.json', 'utf8')) as { States: Record<string, State> } & AslDefinition;

const declaredErrors = (): Set<string> =>
  new Set(['core/errors.ts', 'drivers/errors.ts', 'shipper/lib/errors.ts'].flatMap((file) => [...readFileSync(file, 'utf8').matchAll(/readonly name: string = '(\w+)'/g)].map((m) => m[1] ?? '')));

describe('infra/drill.asl.json and the code it runs', () => {
  it('matches in Retry and Catch only error names the code raises (or Step Functions’ and Lambda’s own)', () => {
    const known = declaredErrors();
    const names = Object.values(definition.States).flatMap((s) => [...(s.Retry ?? []), ...(s.Catch ?? [])].flatMap((r) => r.ErrorEquals));
    expect(names).toContain('DrillNotReadyError');
    expect(names.filter((n) => !n.startsWith('States.') && !n.startsWith('Lambda.') && !known.has(n))).toEqual([]);
  });

  it('has a task function for every Task state, and every task function serves a state', () => {
    const tasks = Object.keys(drillTasks({} as never));
    const served = new Set(
      Object.values(definition.States)
        .filter((s) => s.Type === 'Task')
        .map((s) => /^\$\{Drill(\w+)FunctionArn\}$/.exec(s.Resource ?? '')?.[1] ?? s.Resource)
        .map((r) => (r === 'Plan' ? 'DrillPlan' : r)),
    );
    expect([...served].sort()).toEqual([...tasks].sort());
  });

  it('removes the instances on every path once they may exist: each Catch after Provision goes to Cleanup, and Cleanup to the report; a failed RetireLater goes on with the drill', () => {
    const order = ['Provision', 'LoadDumps', 'CheckLoads', 'ReplayBinlogs', 'CheckReplay', 'Snapshot', 'CheckSnapshots', 'Compare'];
    for (const name of order) expect(definition.States[name]?.Catch?.map((c) => c.Next), name).toEqual(['Cleanup']);
    // Its error in $.retired: not tried again, and the Cleanup after Compare terminates the instance.
    expect(definition.States.RetireLater?.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.retired', Next: 'Replayed?' }]);
    expect(definition.States.DrillPlan?.Catch?.map((c) => c.Next)).toEqual(['ReportFailure']);
    expect(definition.States.DrillPlan?.Next).toBe('Planned?');
    expect(definition.States['Planned?']?.Default).toBe('Provision');
    expect(definition.States.Cleanup?.Next).toBe('ReportFailure');
    expect(definition.States.Compare?.Next).toBe('CleanupAfterCompare');
    expect(definition.States.CleanupAfterCompare?.Next).toBe('Proven?');
  });

  it('terminates the later dump’s instance as soon as its snapshot is in, while the replay goes on: Replayed? sends it to RetireLater once, then back into the replay’s loop', () => {
    const replayed = definition.States['Replayed?'] as State & { Choices: Record<string, unknown>[] };
    expect(replayed.Choices[0]).toEqual({
      And: [
        { Variable: '$.replay.steps.dump.status', StringEquals: 'Success' },
        { Not: { Variable: '$.retired', IsPresent: true } },
      ],
      Next: 'RetireLater',
    });
    expect(replayed.Choices[1]).toMatchObject({ Variable: '$.replay.status', StringEquals: 'InProgress', Next: 'WaitForReplay' });
    expect(replayed.Default).toBe('Snapshot');
    expect(definition.States.RetireLater).toMatchObject({ Type: 'Task', Resource: '${DrillRetireLaterFunctionArn}', ResultPath: '$.retired', Next: 'Replayed?' });
  });

  it('times out only after the longest drill the steps allow: both loads, the replay (the later snapshot beside it) and the restored snapshot each up to 48 hours (SSM’s longest command) with their last waits, RetireLater and every task at its worst — and within an hour of it', () => {
    const worst = worstCaseSeconds(definition, SSM_COMMAND_SECONDS + LONGEST_WAIT);

    expect(worst.path.filter((s) => s.startsWith('WaitFor'))).toEqual(['WaitForLoads', 'WaitForReplay', 'WaitForSnapshots']);
    expect(worst.path).toContain('RetireLater');
    expect(worst.path.slice(-2)).toEqual(['Cleanup', 'ReportFailure']);
    expect(worst.seconds).toBe(544_507);
    expect(definition.TimeoutSeconds).toBeGreaterThanOrEqual(worst.seconds);
    expect(definition.TimeoutSeconds).toBeLessThanOrEqual(worst.seconds + 3600);
    // Under a week: the next Sunday's drill never finds this one still running.
    expect(definition.TimeoutSeconds).toBeLessThan(7 * 86_400);
  });

  it('lets the states that do the work in-process in the local runtime (the loads, the replay, the snapshots) run as long as the SSM command may on AWS', () => {
    for (const name of ['LoadDumps', 'ReplayBinlogs', 'Snapshot']) expect((definition.States[name] as { TimeoutSeconds?: number }).TimeoutSeconds, name).toBe(SSM_COMMAND_SECONDS);
  });
});

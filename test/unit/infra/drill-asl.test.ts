import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { drillTasks } from '../../../core/restore/drill-workflow.js';

interface State {
  Type: string;
  Resource?: string;
  Next?: string;
  Default?: string;
  Retry?: { ErrorEquals: string[] }[];
  Catch?: { ErrorEquals: string[]; Next: string }[];
}
const definition = JSON.parse(readFileSync('infra/drill.asl.json', 'utf8')) as { States: Record<string, State> };

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

  it('removes the instances on every path once they may exist: each Catch after Provision goes to Cleanup, and Cleanup to the report', () => {
    const order = ['Provision', 'LoadDumps', 'CheckLoads', 'ReplayBinlogs', 'CheckReplay', 'Snapshot', 'CheckSnapshots', 'Compare'];
    for (const name of order) expect(definition.States[name]?.Catch?.map((c) => c.Next), name).toEqual(['Cleanup']);
    expect(definition.States.DrillPlan?.Catch?.map((c) => c.Next)).toEqual(['ReportFailure']);
    expect(definition.States.DrillPlan?.Next).toBe('Planned?');
    expect(definition.States['Planned?']?.Default).toBe('Provision');
    expect(definition.States.Cleanup?.Next).toBe('ReportFailure');
    expect(definition.States.Compare?.Next).toBe('CleanupAfterCompare');
    expect(definition.States.CleanupAfterCompare?.Next).toBe('Proven?');
  });
});

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LONGEST_WAIT, restoreTasks } from '../../../core/restore/workflow.js';
import { SSM_COMMAND_SECONDS } from '../../../drivers/aws/ec2-restore.js';
import { worstCaseSeconds, type AslDefinition } from '../../helpers/asl.js';

interface State {
  Type: string;
  Resource?: string;
  Retry?: { ErrorEquals: string[] }[];
  Catch?: { ErrorEquals: string[] }[];
}
const definition = JSON.parse(readFileSync('infra/restore.asl.json', 'utf8')) as { States: Record<string, State> } & AslDefinition;

/** The names of binvault's error classes, as their sources declare them (`name: string = 'X'`). */
const declaredErrors = (): Set<string> =>
  new Set(
    ['core/errors.ts', 'drivers/errors.ts', 'shipper/lib/errors.ts'].flatMap((file) =>
      [...readFileSync(file, 'utf8').matchAll(/readonly name: string = '(\w+)'/g)].map((m) => m[1] ?? ''),
    ),
  );

describe('infra/restore.asl.json and the code it runs', () => {
  it('matches in Retry and Catch only error names the code raises (or Step Functions’ and Lambda’s own)', () => {
    const known = declaredErrors();
    expect(known.has('StorageError')).toBe(true);
    const names = Object.values(definition.States).flatMap((s) => [...(s.Retry ?? []), ...(s.Catch ?? [])].flatMap((r) => r.ErrorEquals));
    const unknown = names.filter((n) => !n.startsWith('States.') && !n.startsWith('Lambda.') && !known.has(n));
    expect(names.length).toBeGreaterThan(10);
    expect(unknown).toEqual([]);
  });

  it('has a task function for every Task state, and every task function serves a state', () => {
    const tasks = Object.keys(restoreTasks({} as never));
    const resources = Object.values(definition.States)
      .filter((s) => s.Type === 'Task')
      .map((s) => /^\$\{(\w+)FunctionArn\}$/.exec(s.Resource ?? '')?.[1] ?? s.Resource);
    // The Verify state's function is named VerifyRestore on AWS (a verify function exists already).
    const served = new Set(resources.map((r) => (r === 'VerifyRestore' ? 'Verify' : r)));
    expect([...served].sort()).toEqual([...tasks].sort());
  });

  it('times out only after the longest restore the steps allow: a 48-hour load and a 48-hour replay (SSM’s longest command), their last waits, every task at its worst, a cleanup and a report — and within an hour of it', () => {
    const worst = worstCaseSeconds(definition, SSM_COMMAND_SECONDS + LONGEST_WAIT);

    // The success path's CleanupStrays → Report takes as long as the failure path's Cleanup → ReportFailure
    // (the same function, the same retries): the first of the two found.
    expect(worst.path).toEqual(['ValidateInput', 'Plan', 'DryRun?', 'Provision', 'LoadDump', 'WaitForLoad', 'CheckLoad', 'Loaded?', 'ReplayBinlogs', 'WaitForReplay', 'CheckReplay', 'Replayed?', 'Verify', 'CleanupStrays', 'Report']);
    expect(worst.seconds).toBe(361_783);
    expect(definition.TimeoutSeconds).toBeGreaterThanOrEqual(worst.seconds);
    expect(definition.TimeoutSeconds).toBeLessThanOrEqual(worst.seconds + 3600);
  });
});

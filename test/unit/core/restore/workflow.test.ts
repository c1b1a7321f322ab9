import { describe, expect, it } from 'vitest';
import { rebuildHost } from '../../../../core/catalog/manifests.js';
import { InputError, UsageError, VerificationError } from '../../../../core/errors.js';
import type { Alert, Applier, ProvisionedInstance, Provisioner, StepStatus } from '../../../../core/ports.js';
import type { RestorePlan } from '../../../../core/restore/plan.js';
import { restoreTasks, type RestoreState } from '../../../../core/restore/workflow.js';
import { at, binlogSeries, dumpAt, putShipped, T0 } from '../../../helpers/catalog.js';
import { MemoryStore } from '../../../helpers/memory-store.js';

const scope = { prefix: 'mysql', host: 'db1' };
const instance: ProvisionedInstance = { id: 'i-1', kind: 'local', host: '127.0.0.1', port: 3307, user: 'root', defaultsFile: '/tmp/client.cnf' };

/** A host with ten one-minute binlogs and a dump at T0 + 30, its catalog built; fakes for the instance side. */
const setUp = async (reached = '0-1-50') => {
  const store = new MemoryStore();
  await putShipped(store, [...binlogSeries({ count: 10 }), dumpAt(T0 + 30, 'binlog.000001')], 2000);
  await rebuildHost(store, scope, { now: () => new Date((T0 + 700) * 1000) });
  const calls: string[] = [];
  const alerts: Alert[] = [];
  const provisioner: Provisioner = {
    provision: async (execution) => (calls.push(`provision ${execution}`), instance),
    cleanup: async (i) => void calls.push(`cleanup ${i.id}`),
  };
  const applier: Applier = {
    load: async (plan) => (calls.push(`load ${plan.dump.key}`), { status: 'Success', seconds: 1 }),
    replay: async (plan) => (calls.push(`replay ${plan.binlogs.length}`), { status: 'Success', seconds: 2, expected: { gtids: '0-1-50', events: 500, time: at(T0 + 299) } }),
    check: async (step: StepStatus) => step,
    reached: async () => ({ gtids: reached }),
  };
  const tasks = restoreTasks({ store, prefix: 'mysql', timeZone: 'UTC', provisioner, applier, alerts: { publish: async (a) => void alerts.push(a) }, clock: { now: () => new Date((T0 + 700) * 1000) } });
  return { store, tasks, calls, alerts };
};

describe('the restore workflow’s tasks, with the ObjectStore port in memory and fake instance drivers', () => {
  it('validates the input: one target, a host name, a readable time, a GTID of the right form (input errors: exit 2)', async () => {
    const { tasks } = await setUp();
    await expect(tasks.ValidateInput({ host: 'db1', target: {} })).rejects.toThrow(InputError);
    await expect(tasks.ValidateInput({ host: 'db1', target: { gtid: 'banana' } })).rejects.toThrow(UsageError);
    await expect(tasks.ValidateInput({ host: 'db 1', target: { latest: true } })).rejects.toThrow("'db 1' is not a host name");
    await expect(tasks.ValidateInput({ host: 'db1', target: { time: 'yesterday' } })).rejects.toThrow("'yesterday' is not a time");
    expect(await tasks.ValidateInput({ host: 'db1', target: { time: '2026-11-01 00:04:05' }, execution: 'restore-1' })).toEqual({
      host: 'db1',
      target: { time: '2026-11-01T00:04:05Z' },
      dryRun: false,
      execution: 'restore-1',
    });
  });

  it('plans from the catalog, sizes the plan from the stored objects and writes it beside the report', async () => {
    const { store, tasks } = await setUp();
    const request = await tasks.ValidateInput({ host: 'db1', target: { time: at(T0 + 299) }, execution: 'restore-1' });

    const plan = await tasks.Plan({ request });

    expect(plan).toMatchObject({ targetTime: at(T0 + 299), dump: { binlogFile: 'binlog.000001', size: 2000 }, stop: { datetime: at(T0 + 300) } });
    expect(plan.binlogs.map((b) => b.name)).toEqual(['binlog.000001', 'binlog.000002', 'binlog.000003', 'binlog.000004', 'binlog.000005']);
    expect(plan.bytes).toBe(2000 * 6);
    expect(store.json<RestorePlan>('mysql/db1/restores/restore-1/plan.json')).toEqual(plan);
  });

  it('refuses a plan whose dump or binlog the bucket no longer holds (a catalog rebuilt after a deletion), before anything is provisioned', async () => {
    const { store, tasks, calls } = await setUp();
    const request = await tasks.ValidateInput({ host: 'db1', target: { time: at(T0 + 299) }, execution: 'restore-1' });
    const plan = await tasks.Plan({ request: { ...request, dryRun: true } });
    await store.delete(plan.dump.key);
    await store.delete(plan.binlogs[2]?.key ?? '');

    await expect(tasks.Plan({ request })).rejects.toThrow(
      `the plan needs 2 objects the bucket no longer holds (${plan.dump.key}, ${plan.binlogs[2]?.key ?? ''}): deleted after it was catalogued; the next retention run removes it from the catalog`,
    );
    expect(calls).toEqual([]);
    expect(store.objects.has('mysql/db1/restores/restore-1/plan.json')).toBe(false);
  });

  it('a dry run plans and writes nothing', async () => {
    const { store, tasks } = await setUp();
    const request = await tasks.ValidateInput({ host: 'db1', target: { latest: true }, dryRun: true, execution: 'restore-1' });
    const before = await store.list('mysql/', {});

    await tasks.Plan({ request });

    expect(await store.list('mysql/', {})).toEqual(before);
  });

  it('refuses a target outside every window before anything is provisioned', async () => {
    const { tasks, calls } = await setUp();
    const request = await tasks.ValidateInput({ host: 'db1', target: { time: at(T0 + 5000) } });
    await expect(tasks.Plan({ request })).rejects.toThrow(/outside every restorable window of db1/);
    expect(calls).toEqual([]);
  });

  it('runs the steps in order, verifies the position reached, reports and announces the success', async () => {
    const { store, tasks, calls, alerts } = await setUp();
    const request = await tasks.ValidateInput({ host: 'db1', target: { time: at(T0 + 299) }, execution: 'restore-1' });
    const plan = await tasks.Plan({ request });
    const provisioned = await tasks.Provision({ request });
    const load = await tasks.LoadDump({ request, plan, instance: provisioned });
    const replay = await tasks.ReplayBinlogs({ request, plan, instance: provisioned });
    const verification = await tasks.Verify({ request, plan, instance: provisioned, replay });
    await tasks.Report({ request, plan, instance: provisioned, load, replay, verification } as RestoreState);

    expect(calls).toEqual(['provision restore-1', `load ${plan.dump.key}`, 'replay 5']);
    expect(verification.ok).toBe(true);
    expect(store.json('mysql/db1/restores/restore-1/report.json')).toMatchObject({ status: 'succeeded', instance: { id: 'i-1', port: 3307 }, reached: { gtids: '0-1-50' } });
    expect(JSON.stringify(store.json('mysql/db1/restores/restore-1/report.json'))).not.toMatch(/password/i);
    expect(alerts.map((a) => `${a.type} ${a.severity}`)).toEqual(['restore-succeeded info']);
  });

  it('fails the verification when the server reached another position than the plan expected', async () => {
    const { tasks } = await setUp('0-1-49');
    const request = await tasks.ValidateInput({ host: 'db1', target: { time: at(T0 + 299) }, execution: 'restore-1' });
    const plan = await tasks.Plan({ request });
    const replay = await tasks.ReplayBinlogs({ request, plan, instance });

    await expect(tasks.Verify({ request, plan, instance, replay })).rejects.toThrow(VerificationError);
  });

  it('cleans up and reports a failure once, naming the cause', async () => {
    const { store, tasks, calls, alerts } = await setUp();
    const request = await tasks.ValidateInput({ host: 'db1', target: { latest: true }, execution: 'restore-2' });
    const error = { Error: 'ApplyError', Cause: JSON.stringify({ errorMessage: 'the SQL client exited with code 1: ERROR 1062' }) };

    await tasks.Cleanup({ request, instance, error });
    await tasks.ReportFailure({ request, instance, error });

    expect(calls).toEqual(['cleanup i-1']);
    expect(store.json('mysql/db1/restores/restore-2/report.json')).toMatchObject({ status: 'failed', error: { name: 'ApplyError', message: 'the SQL client exited with code 1: ERROR 1062' } });
    expect(alerts.map((a) => [a.type, a.severity, a.message])).toEqual([['restore-failed', 'critical', 'restore of db1 failed: the SQL client exited with code 1: ERROR 1062 (the new instance was removed)']]);
  });

  it('a refused restore alerts nobody; its report is kept under a known host', async () => {
    const { store, tasks, alerts } = await setUp();
    const request = await tasks.ValidateInput({ host: 'db1', target: { time: at(T0 + 5000) }, execution: 'restore-3' });
    const error = { Error: 'RestoreRefusedError', Cause: JSON.stringify({ errorMessage: 'outside every restorable window of db1' }) };

    await tasks.ReportFailure({ request, error });

    expect(alerts).toEqual([]);
    expect(store.json('mysql/db1/restores/restore-3/report.json')).toMatchObject({ status: 'refused', error: { name: 'RestoreRefusedError' } });
  });

  it('input refused by the first state, a dry run that failed, or a host with nothing shipped: no alert, nothing written', async () => {
    const { store, tasks, alerts } = await setUp();
    const before = await store.list('mysql/', {});
    const storageError = { Error: 'StorageError', Cause: 'cannot reach the object store' };

    await tasks.ReportFailure({ host: 'db1', target: { time: 'yesterday' }, error: { Error: 'InputError', Cause: "'yesterday' is not a time" } });
    await tasks.ReportFailure({ request: await tasks.ValidateInput({ host: 'db1', target: { latest: true }, dryRun: true }), error: storageError });
    const nosuch = await tasks.ValidateInput({ host: 'nosuch', target: { latest: true } });
    await expect(tasks.Plan({ request: nosuch })).rejects.toThrow("no catalog for host 'nosuch'");
    await tasks.ReportFailure({ request: nosuch, error: { Error: 'RestoreRefusedError', Cause: "no catalog for host 'nosuch'" } });

    expect(alerts).toEqual([]);
    expect((await store.list('mysql/', { delimiter: '/' })).prefixes).toEqual(['mysql/db1/']);
    const after = await store.list('mysql/', {});
    expect(after.keys.filter((k) => k.key.includes('/restores/'))).toEqual(before.keys.filter((k) => k.key.includes('/restores/')));
  });
});

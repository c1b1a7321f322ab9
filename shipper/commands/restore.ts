import { join } from 'node:path';
import type { SFNClient } from '@aws-sdk/client-sfn';
import { sfnClientFor } from '../../drivers/aws/sfn.js';
import { listHosts } from '../../core/catalog/manifests.js';
import type { Config } from '../../core/config.js';
import { ConfigurationError, RestoreFailedError, UsageError } from '../../core/errors.js';
import { systemClock } from '../../core/ports.js';
import { checkGtidTarget, parseRestoreTime } from '../../core/restore/plan.js';
import { RestoreEta } from '../../core/restore/rto.js';
import { restoreReport, type RestoreRequest, type RestoreState } from '../../core/restore/workflow.js';
import { compactStamp } from '../../core/time.js';
import { S3Store } from '../../drivers/aws/s3.js';
import { FileAlerts } from '../../drivers/local/file-alerts.js';
import { clientCommand } from '../../drivers/mysql/programs.js';
import { formatBytes, formatSeconds } from '../lib/format.js';
import type { Command } from './command.js';
import { followExecution } from './execution.js';
import type { CommandIo } from './io.js';
import { progressView } from './progress.js';

export interface RestoreArgs {
  to?: string;
  gtid?: string;
  mode?: 'before' | 'after';
  latest?: boolean;
  host?: string;
  /** Only these databases (the dump's sections of them, and their changes). */
  databases?: string[];
  dryRun: boolean;
}

/** The host named, or the only host in the bucket. */
export const chooseHost = async (store: S3Store, config: Config, host: string | undefined): Promise<string> => {
  if (host) return host;
  const hosts = await listHosts(store, config.prefix);
  if (hosts.length === 1 && hosts[0]) return hosts[0];
  throw new ConfigurationError(
    hosts.length === 0 ? `nothing under s3://${config.bucket}/${config.prefix}/: no host to restore` : `several hosts (${hosts.join(', ')}): say which with --host`,
  );
};

/**
 * `binvault restore`: runs the restore state machine (infra/restore.asl.json) in-process, each task
 * on its local handler, into a fresh local instance that keeps running for the operator.
 */
export const restoreCommand = async (config: Config, args: RestoreArgs, io: CommandIo): Promise<number> => {
  // A target that cannot be read is said before anything is reached for (the state machine checks it again).
  if (args.to !== undefined) parseRestoreTime(args.to, config.timeZone);
  if (args.gtid !== undefined) checkGtidTarget(args.gtid.trim());
  const store = S3Store.fromConfig(config);
  const host = await chooseHost(store, config, args.host);
  const stateMachineArn = config.restoreStateMachineArn;
  const request: RestoreRequest = {
    host,
    target: args.latest ? { latest: true } : args.gtid !== undefined ? { gtid: args.gtid, mode: args.mode ?? 'after' } : { time: args.to ?? '' },
    ...(args.databases ? { databases: args.databases } : {}),
    dryRun: args.dryRun,
  };
  if (stateMachineArn) return restoreOnAws(sfnClientFor(stateMachineArn), stateMachineArn, request, io);
  let state: RestoreState;
  // The embedded runtime (the local state machine) is loaded only for a local restore.
  const { runLocalRestore } = await import('../../local/cli.js');
  const progress = progressView(io);
  let eta: RestoreEta | undefined;
  try {
    state = await runLocalRestore(
      {
        store,
        prefix: config.prefix,
        timeZone: config.timeZone,
        stateDir: config.stateDir,
        alerts: new FileAlerts(join(config.stateDir, 'alerts.jsonl'), (line) => io.verbose && progress.line(line, io.err)),
        clock: systemClock,
        // The plan knows every byte: the dump's and the binlogs' raw sizes are each phase's total;
        // its estimate (the RTO budget's rates) gives the time left of the whole restore.
        onPlan: (plan) => {
          if (plan.estimate) eta = new RestoreEta(plan.estimate);
        },
        onProgress: (p) => {
          const remaining = eta?.update(p);
          if (p.total) progress.update({ phase: p.phase, done: p.bytes, total: p.total, ...(remaining !== undefined ? { remainingSeconds: remaining } : {}) });
        },
        onEvent: (event) => {
          if (event.type === 'StateEntered' && event.state && !/[?]$|^Wait|^Check/.test(event.state)) progress.step(event.state);
        },
      },
      request,
    );
  } finally {
    progress.done();
  }

  if (args.dryRun) {
    const plan = state.plan;
    if (io.json) io.out(JSON.stringify(restoreReport(state, 'planned')));
    else {
      io.out(`plan: restore ${host} to ${plan.targetTime}`);
      io.out(`  dump     ${plan.dump.key} (completed ${plan.dump.completedAt}, at ${plan.dump.binlogFile}:${plan.dump.binlogPosition})`);
      io.out(`  binlogs  ${plan.binlogs.map((b) => b.name).join(', ')}`);
      io.out(`  replay   from ${plan.dump.binlogFile}:${plan.startPosition} to ${'datetime' in plan.stop ? `before ${plan.stop.datetime}` : 'gtid' in plan.stop ? `GTID ${plan.stop.gtid}` : `${plan.stop.binlogFile}:${plan.stop.position}`}`);
      io.out(`  size     ${formatBytes(plan.bytes)} stored`);
      const e = plan.estimate;
      io.out(
        `  estimate about ${formatSeconds(plan.estimatedSeconds)}${e ? ` (load ${formatSeconds(e.loadSeconds)}, replay ${formatSeconds(e.replaySeconds)}; ${e.rates === 'measured' ? 'rates measured by restores of this host' : 'default rates, no restore measured yet'})` : ''}, ` +
          `RTO budget ${formatSeconds(config.thresholds.rtoSeconds)}${plan.estimatedSeconds > config.thresholds.rtoSeconds ? ': PAST THE BUDGET' : ''}`,
      );
    }
    return 0;
  }

  const report = restoreReport(state, 'succeeded');
  if (io.json) {
    io.out(JSON.stringify(report));
    return 0;
  }
  const i = state.instance;
  io.out(`restored ${host} to ${state.plan.targetTime} into a fresh instance`);
  io.out(`  from     ${state.plan.dump.key} + ${state.plan.binlogs.length} binlog(s), ${formatBytes(state.plan.bytes)}`);
  io.out(`  reached  ${state.verification.reached.time ?? '?'}${state.verification.reached.gtids ? `, GTID ${state.verification.reached.gtids}` : ''}${state.verification.reached.binlogFile ? `, ${state.verification.reached.binlogFile}:${state.verification.reached.binlogPosition ?? '?'}` : ''}`);
  io.out(`  timings  load ${formatSeconds(state.load.seconds ?? 0)}, replay ${formatSeconds(state.replay.seconds ?? 0)}`);
  for (const check of state.verification.checks) io.out(`  verified ${check}`);
  io.out(`  server   ${i.host}:${i.port}, socket ${i.socket ?? '-'}, data in ${i.dataDir ?? '-'}; its event scheduler is off`);
  io.out(`  stop it  kill $(cat ${join(i.dataDir ?? '', '..', 'mysqld.pid')})`);
  // The last line is the command that connects: what a person (or a script, with tail -1) runs next.
  io.out(clientCommand(i.defaultsFile));
  return 0;
};

/**
 * `binvault restore` against AWS (BINVAULT_RESTORE_STATE_MACHINE_ARN set): starts an execution of
 * the deployed state machine and follows it to its end.
 */
export const restoreOnAws = async (
  sfn: SFNClient,
  stateMachineArn: string,
  request: RestoreRequest,
  io: CommandIo,
  pollMs = 5_000,
): Promise<number> => {
  const name = `restore-${compactStamp(new Date())}-${Math.random().toString(36).slice(2, 8)}`;
  const { arn, described } = await followExecution(sfn, { stateMachineArn, name, input: { ...request, execution: name } }, io, pollMs);
  if (described.status !== 'SUCCEEDED') throw new RestoreFailedError(`restore ${(described.status ?? '?').toLowerCase()}: ${described.error ?? ''} ${described.cause ?? ''}`.trim());
  const output = JSON.parse(described.output ?? '{}') as RestoreState;
  if (io.json) io.out(JSON.stringify(restoreReport(output, request.dryRun ? 'planned' : 'succeeded')));
  else if (request.dryRun) io.out(`planned ${request.host ?? ''}: see ${arn}`);
  else {
    io.out(`restored ${request.host ?? ''} to ${output.plan?.targetTime ?? '?'} on ${output.instance?.id ?? '?'} (${output.instance?.host ?? '?'}): see ${arn}`);
    // The last line is the command that connects, as for a local restore.
    if (output.instance?.connect) io.out(output.instance.connect);
  }
  return 0;
};

export const command: Command = {
  name: 'restore',
  synopsis: '(--to TIME | --gtid GTID [--before] | --latest) [--host H] [--databases a,b] [--dry-run]',
  summary: 'point-in-time restore into a fresh instance',
  help: `Restores a host to any second of its restorable windows (binvault status shows them) into a fresh
instance: the newest verified dump before the target, then every binlog from the dump's exact
coordinates replayed in one session up to the target. Runs the restore state machine of
infra/restore.asl.json in-process; the new server (mariadbd/mysqld from PATH) keeps running for
you, with a generated password in a 0600 option file the report names.

  --to TIME       ISO 8601 with a zone (2026-11-20T15:04:05Z) or 'YYYY-MM-DD HH:MM:SS' in BINVAULT_TZ;
                  every transaction committed at or before that second is restored
  --gtid GTID     a MariaDB GTID (0-1-1234): restore up to and including it, or --before it
  --latest        the latest restorable second
  --host H        the host (default: the only host in the bucket)
  --databases a,b only these databases: their part of the dump, and their changes; refused before
                  anything starts when a transaction to replay touches one of them and another too
  --dry-run       print the plan only

With BINVAULT_RESTORE_STATE_MACHINE_ARN set, starts an execution of the deployed state machine on
AWS instead (a fresh EC2 instance from the launch template) and follows it.
`,
  options: {
    to: { type: 'string' },
    gtid: { type: 'string' },
    before: { type: 'boolean' },
    latest: { type: 'boolean' },
    host: { type: 'string' },
    databases: { type: 'string' },
    'dry-run': { type: 'boolean' },
  },
  run: async ({ values, config, io }) => {
    const { to, gtid, host } = values;
    const targets = [to !== undefined, gtid !== undefined, values.latest === true].filter(Boolean).length;
    if (targets !== 1) throw new UsageError('restore needs exactly one of --to TIME, --gtid GTID, --latest');
    if (values.before === true && gtid === undefined) throw new UsageError('--before goes with --gtid');
    const given = values.databases;
    const databases = typeof given === 'string' ? given.split(',').map((d) => d.trim()).filter((d) => d !== '') : undefined;
    if (given !== undefined && (!databases || databases.length === 0)) throw new UsageError('--databases needs at least one name');
    return restoreCommand(
      await config(),
      {
        ...(typeof to === 'string' ? { to } : {}),
        ...(typeof gtid === 'string' ? { gtid, mode: values.before === true ? 'before' : 'after' } : {}),
        latest: values.latest === true,
        ...(typeof host === 'string' ? { host } : {}),
        ...(databases ? { databases } : {}),
        dryRun: values['dry-run'] === true,
      },
      io,
    );
  },
};

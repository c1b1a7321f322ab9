import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { makeDirectories } from '../../core/files.js';
import { listHosts } from '../../core/catalog/manifests.js';
import { ConfigurationError } from '../../core/errors.js';
import { systemClock } from '../../core/ports.js';
import { restoreReport, type RestoreRequest, type RestoreState } from '../../core/restore/workflow.js';
import { FileAlerts } from '../../drivers/local/file-alerts.js';
import { checkGtidTarget, parseRestoreTime, type RestorePlan } from '../../core/restore/plan.js';
import { RestoreFailedError, runLocalRestore } from '../../local/restore-run.js';
import { loadDump, readReached, replayBinlogs, type TargetInstance } from '../../drivers/mysql/apply.js';
import { readOptionFile } from '../../drivers/mysql/option-file.js';
import type { BinvaultConfig } from '../lib/config.js';
import { formatBytes, formatSeconds } from '../lib/format.js';
import { S3Store } from '../../drivers/aws/s3.js';
import type { CommandIo } from './io.js';

export interface RestoreArgs {
  to?: string;
  gtid?: string;
  mode?: 'before' | 'after';
  latest?: boolean;
  host?: string;
  dryRun: boolean;
}

const chooseHost = async (store: S3Store, config: BinvaultConfig, host: string | undefined): Promise<string> => {
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
export const restoreCommand = async (config: BinvaultConfig, args: RestoreArgs, io: CommandIo): Promise<number> => {
  // A target that cannot be read is said before anything is reached for (the state machine checks it again).
  if (args.to !== undefined) parseRestoreTime(args.to, config.timeZone);
  if (args.gtid !== undefined) checkGtidTarget(args.gtid.trim());
  const store = S3Store.fromConfig(config);
  const host = await chooseHost(store, config, args.host);
  const progressing = !io.json && process.stderr.isTTY;
  let lastProgress = 0;
  const stateMachineArn = process.env.BINVAULT_RESTORE_STATE_MACHINE_ARN;
  const request: RestoreRequest = {
    host,
    target: args.latest ? { latest: true } : args.gtid !== undefined ? { gtid: args.gtid, mode: args.mode ?? 'after' } : { time: args.to ?? '' },
    dryRun: args.dryRun,
  };
  if (stateMachineArn) return restoreOnAws(new SFNClient({}), stateMachineArn, request, io);
  let state: RestoreState;
  try {
    state = await runLocalRestore(
      {
        store,
        prefix: config.prefix,
        timeZone: config.timeZone,
        stateDir: config.stateDir,
        alerts: new FileAlerts(join(config.stateDir, 'alerts.jsonl'), (line) => io.verbose && io.err(line)),
        clock: systemClock,
        onProgress: (p) => {
          if (!progressing || Date.now() - lastProgress < 500) return;
          lastProgress = Date.now();
          process.stderr.write(`\r  ${p.phase} ${formatBytes(p.bytes)}      `);
        },
        onEvent: (event) => {
          if (event.type === 'StateEntered' && event.state && !io.json && !/[?]$|^Wait|^Check/.test(event.state)) {
            if (progressing) process.stderr.write('\r');
            io.err(`→ ${event.state}`);
          }
        },
      },
      request,
    );
  } finally {
    if (progressing) process.stderr.write('\n');
  }

  if (args.dryRun) {
    const plan = state.plan;
    if (io.json) io.out(JSON.stringify(restoreReport(state, 'planned')));
    else {
      io.out(`plan: restore ${host} to ${plan.targetTime}`);
      io.out(`  dump     ${plan.dump.key} (completed ${plan.dump.completedAt}, at ${plan.dump.binlogFile}:${plan.dump.binlogPosition})`);
      io.out(`  binlogs  ${plan.binlogs.map((b) => b.name).join(', ')}`);
      io.out(`  replay   from ${plan.dump.binlogFile}:${plan.startPosition} to ${'datetime' in plan.stop ? `before ${plan.stop.datetime}` : `GTID ${plan.stop.gtid}`}`);
      io.out(`  size     ${formatBytes(plan.bytes)} stored, about ${formatSeconds(plan.estimatedSeconds)}`);
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
  io.out(`  connect  mariadb --defaults-extra-file=${i.defaultsFile}      (${i.host}:${i.port}, socket ${i.socket ?? '-'})`);
  io.out(`  stop it  kill $(cat ${join(i.dataDir ?? '', '..', 'mysqld.pid')})`);
  return 0;
};

/**
 * `binvault restore apply --step load|replay|reached [--plan s3://…] --defaults-file F`: the part of
 * a restore that runs next to the new server (on AWS through SSM Run Command); prints its result as JSON.
 */
export const restoreApplyCommand = async (
  config: BinvaultConfig,
  args: { step: string; plan?: string; defaultsFile: string },
  io: CommandIo,
): Promise<number> => {
  const options = await readOptionFile(args.defaultsFile);
  const instance: TargetInstance = {
    host: options.host ?? 'localhost',
    port: options.port ?? 3306,
    ...(options.socket ? { socket: options.socket } : {}),
    user: options.user ?? 'root',
    defaultsFile: args.defaultsFile,
  };
  if (args.step === 'reached') {
    io.out(JSON.stringify(await readReached(instance)));
    return 0;
  }
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(args.plan ?? '');
  if (!match?.[1] || !match[2]) throw new ConfigurationError(`--plan '${args.plan ?? ''}' is not an s3://bucket/key of a restore plan`);
  const store = S3Store.fromConfig({ ...config, bucket: match[1] });
  const plan = JSON.parse((await store.getBytes(match[2])).toString()) as RestorePlan;
  // Rows read ahead and binlogs wait beside the state, on the host's disk (/tmp may be memory).
  const work = join(config.stateDir, 'restore-work');
  await makeDirectories(work, 0o700);
  if (args.step === 'load') {
    io.out(JSON.stringify(await loadDump(store, plan, instance, undefined, work)));
  } else if (args.step === 'replay') {
    const result = await replayBinlogs(store, plan, instance, await mkdtemp(join(work, 'replay-')));
    io.out(JSON.stringify(result));
  } else {
    throw new ConfigurationError(`--step '${args.step}' is not load, replay or reached`);
  }
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
  const name = `restore-${new Date().toISOString().replace(/[-:.]/g, '').slice(0, 15)}Z-${Math.random().toString(36).slice(2, 8)}`;
  const started = await sfn.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify({ ...request, execution: name }) }));
  const arn = started.executionArn ?? '';
  io.err(`started ${arn}`);
  let last = '';
  for (;;) {
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
    if (described.status !== last && !io.json) io.err(`  ${described.status ?? '?'}`);
    last = described.status ?? '';
    if (described.status === 'SUCCEEDED') {
      const output = JSON.parse(described.output ?? '{}') as RestoreState;
      io.out(io.json ? JSON.stringify(restoreReport(output, request.dryRun ? 'planned' : 'succeeded')) : `restored ${request.host ?? ''}: see ${arn}`);
      return 0;
    }
    if (described.status && described.status !== 'RUNNING') {
      throw new RestoreFailedError(`restore ${described.status.toLowerCase()}: ${described.error ?? ''} ${described.cause ?? ''}`.trim());
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
};

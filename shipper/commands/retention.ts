import { join } from 'node:path';
import { systemClock } from '../../core/ports.js';
import { runRetention } from '../../core/retention/run.js';
import { FileAlerts } from '../../drivers/local/file-alerts.js';
import type { Config } from '../../core/config.js';
import { formatBytes, formatDuration } from '../lib/format.js';
import { S3Store } from '../../drivers/aws/s3.js';
import type { Command } from './command.js';
import type { CommandIo } from './io.js';

/** `binvault retention [--dry-run] [--host H] [--json]`: apply (or preview) the retention policy. */
export const retentionCommand = async (config: Config, args: { dryRun: boolean; host?: string }, io: CommandIo): Promise<number> => {
  // The policy of the configuration: the environment, or the --config file under it.
  const policy = config.retention;
  const results = await runRetention(
    { store: S3Store.fromConfig(config), alerts: new FileAlerts(join(config.stateDir, 'alerts.jsonl'), (line) => io.err(line)), clock: systemClock },
    { prefix: config.prefix, policy, timeZone: config.timeZone, dryRun: args.dryRun, ...(args.host ? { hosts: [args.host] } : {}) },
  );
  const failed = results.flatMap((r) => r.failed);
  const failure = (): number => {
    const [first] = failed;
    if (!first) return 0;
    io.err(`binvault retention: could not delete ${failed.length} object(s) that no Object Lock holds (first: ${first.key}: ${first.reason})`);
    return 1;
  };
  if (io.json) {
    for (const r of results) io.out(JSON.stringify(r));
    return failure();
  }
  const windows = (list: { from: string; to: string }[]): string => (list.length === 0 ? 'nothing' : list.map((w) => `${w.from} → ${w.to}`).join(', '));
  for (const r of results) {
    const p = r.plan;
    io.out(`${r.host}   keep every second of the last ${formatDuration(policy.recoveryWindowSeconds)} (since ${p.promised.from})${policy.weeklyDumps ? `, the last dump of ${policy.weeklyDumps} weeks` : ''}${policy.monthlyDumps ? `, of ${policy.monthlyDumps} months` : ''}`);
    io.out(`  restorable before  ${windows(p.windowsBefore)}`);
    io.out(`  restorable after   ${windows(p.windowsAfter)}${p.blocked ? '' : '   (covers what was restorable in the promised window)'}`);
    if (p.blocked) {
      io.out(`  BLOCKED            ${p.blocked}; nothing deleted`);
      continue;
    }
    io.out(
      `  delete             ${p.delete.dumps.length} dumps (${formatBytes(r.bytes.dumps)}), ${p.delete.binlogs.length} binlogs (${formatBytes(r.bytes.binlogs)}), ${p.delete.gapRecords.length} gap records`,
    );
    io.out(`  keep               ${p.keep.dumps.length} dumps, ${p.keep.binlogs.length} binlogs`);
    if (r.orphans.length > 0) io.out(`  ${args.dryRun ? 'orphaned' : 'purged  '}           ${r.orphans.length} record(s) or checkpoint(s) of objects deleted on an earlier run (held then)`);
    if (r.held.length > 0) io.out(`  held               ${r.held.length} objects under S3 Object Lock, kept until their retention ends`);
    if (r.failed.length > 0) io.out(`  FAILED             ${r.failed.length} objects could not be deleted: ${r.failed.map((f) => `${f.key}: ${f.reason}`).join('; ')}`);
    io.out(args.dryRun ? '  (dry run: nothing deleted)' : `  deleted            ${r.deleted.length} objects${r.drills.length > 0 ? ` and ${r.drills.length} drill record(s) of their windows` : ''} (${formatBytes(r.freedBytes)} freed, every version)`);
  }
  return failure();
};

export const command: Command = {
  name: 'retention',
  synopsis: '[--dry-run] [--host H]',
  summary: 'apply (or preview) the retention policy; never cuts the chain',
  help: `Keeps every second of the last BINVAULT_RECOVERY_WINDOW_DAYS (7) restorable — the newest verified
dump at or before the window's start, every later dump, the binlogs from that dump's coordinates on
— plus the last dump of BINVAULT_KEEP_WEEKLY_DUMPS weeks and BINVAULT_KEEP_MONTHLY_DUMPS months, and
deletes the rest with their records, and the drill records of the windows they were in (a drill
record whose window is kept stays: status still shows it). The plan proves itself: the windows after must cover what was
restorable in the promised window, or nothing is deleted and a retention-blocked alert says why.
Each object is deleted with every version (on a versioned bucket a plain delete would only add a
delete marker and keep the bytes); "freed" is the bytes of the versions deleted. A delete refused
under S3 Object Lock (a retention date ahead, a legal hold) is reported as held; a record or a
verify checkpoint held after its object went is found on a later run (its object is not in the
listing) and purged once its lock ends. A delete refused
for any other reason (access denied by a policy, …) is an error: a retention-failed alert, exit 1.

  --dry-run       print the plan, delete nothing
  --host H        only this host
`,
  options: { 'dry-run': { type: 'boolean' }, host: { type: 'string' } },
  run: async ({ values, config, io }) =>
    retentionCommand(await config(), { dryRun: values['dry-run'] === true, ...(typeof values.host === 'string' ? { host: values.host } : {}) }, io),
};

import { join } from 'node:path';
import { systemClock } from '../../core/ports.js';
import { runRetention } from '../../core/retention/run.js';
import { retentionPolicy } from '../../core/config.js';
import { FileAlerts } from '../../drivers/local/file-alerts.js';
import type { BinvaultConfig } from '../lib/config.js';
import { formatBytes, formatDuration } from '../lib/format.js';
import { S3Store } from '../../drivers/aws/s3.js';
import type { CommandIo } from './io.js';

/** `binvault retention [--dry-run] [--host H] [--json]`: apply (or preview) the retention policy. */
export const retentionCommand = async (config: BinvaultConfig, args: { dryRun: boolean; host?: string }, io: CommandIo): Promise<number> => {
  const policy = retentionPolicy();
  const results = await runRetention(
    { store: S3Store.fromConfig(config), alerts: new FileAlerts(join(config.stateDir, 'alerts.jsonl'), (line) => io.err(line)), clock: systemClock },
    { prefix: config.prefix, policy, timeZone: config.timeZone, dryRun: args.dryRun, ...(args.host ? { hosts: [args.host] } : {}) },
  );
  if (io.json) {
    for (const r of results) io.out(JSON.stringify(r));
    return 0;
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
    if (r.held.length > 0) io.out(`  held               ${r.held.length} objects under S3 Object Lock, kept until their retention ends`);
    io.out(args.dryRun ? '  (dry run: nothing deleted)' : `  deleted            ${r.deleted.length} objects`);
  }
  return 0;
};

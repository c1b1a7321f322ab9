import { listHosts, loadCatalog, rebuildDay, recordDays } from '../../core/catalog/manifests.js';
import type { Catalog } from '../../core/catalog/model.js';
import { systemClock } from '../../core/ports.js';
import type { BinvaultConfig } from '../lib/config.js';
import { S3Store } from '../../drivers/aws/s3.js';
import type { CommandIo } from './io.js';

/** The design's `status --json` shape for one host. */
export const statusJson = (c: Catalog): Record<string, unknown> => ({
  host: c.host,
  windows: c.windows.map((w) => ({ from: w.from, to: w.to })),
  earliestRestorableTime: c.earliestRestorableTime,
  latestRestorableTime: c.latestRestorableTime,
  lagSeconds: c.lagSeconds,
  lastDump: c.lastDump,
  lastBinlog: c.lastBinlog,
  gaps: c.gaps.map((g) => ({ kind: g.kind, after: g.after, before: g.before, since: g.since, ...(g.missing ? { missing: g.missing } : {}), reason: g.reason })),
  failedObjects: c.failedObjects,
  binlogs: c.chain.length,
});

const human = (seconds: number | null): string => {
  if (seconds === null) return '-';
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
};

const describe = (c: Catalog): string[] => {
  const lines = [`${c.host}`];
  lines.push(
    c.latestRestorableTime
      ? `  restorable   ${c.earliestRestorableTime ?? '?'} → ${c.latestRestorableTime}   (lag ${human(c.lagSeconds)})`
      : '  restorable   nothing yet: a verified dump and the binlogs after it are needed',
  );
  if (c.windows.length > 1) for (const w of c.windows) lines.push(`  window       ${w.from} → ${w.to}`);
  lines.push(
    `  last dump    ${c.lastDump ? `${c.lastDump.completedAt ?? '?'}  at ${c.lastDump.binlogFile ?? '?'}:${c.lastDump.binlogPosition ?? '?'}  ${c.lastDump.key}` : 'none verified'}`,
  );
  lines.push(`  last binlog  ${c.lastBinlog ? `${c.lastBinlog.name}  last event ${c.lastBinlog.lastEventTime ?? '?'}` : 'none verified'}   (${c.chain.length} in the chain)`);
  const open = c.gaps.filter((g) => g.kind !== 'reset');
  lines.push(`  gaps         ${open.length === 0 ? 'none' : ''}`.trimEnd());
  for (const g of c.gaps) {
    lines.push(`    ${g.kind.padEnd(8)} ${g.missing?.join(', ') ?? `${g.after ?? '(start)'} → ${g.before ?? '(next)'}`}: ${g.reason}${g.since ? ` (restorable until ${g.since})` : ''}`);
  }
  lines.push(`  failed       ${c.failedObjects.length === 0 ? 'none' : ''}`.trimEnd());
  for (const f of c.failedObjects) lines.push(`    ${f.key}: ${f.reasons.join('; ')}`);
  return lines;
};

/** `binvault status [--host H] [--json]` */
export const statusCommand = async (config: BinvaultConfig, args: { host?: string }, io: CommandIo): Promise<number> => {
  const store = S3Store.fromConfig(config);
  const hosts = args.host ? [args.host] : await listHosts(store, config.prefix);
  const catalogs: Catalog[] = [];
  for (const host of hosts) catalogs.push(await loadCatalog(store, { prefix: config.prefix, host }, systemClock.now()));
  if (io.json) {
    io.out(JSON.stringify({ hosts: catalogs.map(statusJson) }));
  } else if (catalogs.length === 0) {
    io.out(`no hosts under s3://${config.bucket}/${config.prefix}/ yet`);
  } else {
    io.out(catalogs.flatMap(describe).join('\n'));
  }
  return 0;
};

/** `binvault catalog rebuild [--host H] [--day D]`: every manifest rebuilt from the records alone. */
export const catalogRebuildCommand = async (config: BinvaultConfig, args: { host?: string; day?: string }, io: CommandIo): Promise<number> => {
  const store = S3Store.fromConfig(config);
  const hosts = args.host ? [args.host] : await listHosts(store, config.prefix);
  for (const host of hosts) {
    const scope = { prefix: config.prefix, host };
    const days = args.day ? [args.day] : await recordDays(store, scope);
    for (const day of days) {
      const manifest = await rebuildDay(store, scope, day, systemClock, { fresh: true });
      const line = { host, day, binlogs: Object.keys(manifest.binlogs).length, dumps: Object.keys(manifest.dumps).length, gaps: manifest.catalog.gaps.length };
      io.out(io.json ? JSON.stringify(line) : `rebuilt ${host} ${day}: ${line.binlogs} binlogs, ${line.dumps} dumps, ${line.gaps} gaps`);
    }
  }
  return 0;
};

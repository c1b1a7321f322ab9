import { listHosts, loadCatalog, rebuildDay, recordDays } from '../../core/catalog/manifests.js';
import type { Catalog } from '../../core/catalog/model.js';
import { systemClock } from '../../core/ports.js';
import type { Config } from '../../core/config.js';
import { S3Store } from '../../drivers/aws/s3.js';
import { UsageError } from '../../core/errors.js';
import type { Command } from './command.js';
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
export const statusCommand = async (config: Config, args: { host?: string }, io: CommandIo): Promise<number> => {
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
export const catalogRebuildCommand = async (config: Config, args: { host?: string; day?: string }, io: CommandIo): Promise<number> => {
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

const host = (values: Record<string, unknown>): { host?: string } => (typeof values.host === 'string' ? { host: values.host } : {});

export const status: Command = {
  name: 'status',
  synopsis: '[--host H]',
  summary: 'per host: restorable windows, lag, last dump and binlog, gaps, failures',
  help: `Per host (all hosts under BINVAULT_PREFIX by default): the windows of time to any second of which a
restore is possible, the earliest and latest restorable time and how far the latest lags behind
now, the last verified dump and binlog, the breaks in the binlog chain (delayed, missing, corrupt,
reset) and the objects that failed verification. --json prints the design's shape.

  --host H        only this host
`,
  options: { host: { type: 'string' } },
  run: async ({ values, config, io }) => statusCommand(await config(), host(values), io),
};

export const catalogRebuild: Command = {
  name: 'catalog rebuild',
  synopsis: '[--host H] [--day D]',
  summary: 'rebuild the catalog manifests from the records',
  help: `Rebuilds the day manifests ({prefix}/{host}/catalog/{day}.json) from the verification records
alone, for every host and day (or the ones given).

  --host H        only this host
  --day D         only this day (YYYY-MM-DD)
`,
  options: { host: { type: 'string' }, day: { type: 'string' } },
  run: async ({ values, config, io }) => {
    const day = values.day;
    if (day !== undefined && (typeof day !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(day))) throw new UsageError(`--day '${String(day)}' is not YYYY-MM-DD`);
    return catalogRebuildCommand(await config(), { ...host(values), ...(day ? { day } : {}) }, io);
  },
};

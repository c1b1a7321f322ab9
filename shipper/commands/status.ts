import { listHosts, loadCatalog, rebuildHost } from '../../core/catalog/manifests.js';
import { assess, worse, type Assessment, type Finding, type Health, type Thresholds } from '../../core/alerts/conditions.js';
import type { Catalog } from '../../core/catalog/model.js';
import { drillHistory, type DrillRecord } from '../../core/restore/drill.js';
import { estimateHost, type RtoEstimate } from '../../core/restore/rto.js';
import { systemClock } from '../../core/ports.js';
import type { Config } from '../../core/config.js';
import { S3Store } from '../../drivers/aws/s3.js';
import { messageOf, UsageError } from '../../core/errors.js';
import { StatusUnknownError } from '../lib/errors.js';
import type { Command } from './command.js';
import type { CommandIo } from './io.js';

/** The version of `status --json`'s shape: raised when a field changes meaning or goes; new fields do not raise it. */
export const STATUS_SCHEMA_VERSION = 1;

/** The exit code of `status`: 0 every host current, 1 a warning, 2 a host in trouble (or none at all). */
export const STATUS_EXIT: Record<Health, number> = { ok: 0, warning: 1, critical: 2 };

/** The design's `status --json` shape for one host, with its health and what makes it so. */
export const statusJson = (c: Catalog, a: Assessment, drill?: DrillRecord, rto?: { estimate?: RtoEstimate; budgetSeconds: number }): Record<string, unknown> => ({
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
  ...(drill ? { lastDrill: drillSummary(drill) } : {}),
  ...(rto?.estimate ? { rto: rtoSummary(rto.estimate, rto.budgetSeconds) } : {}),
  status: a.health,
  problems: a.findings,
});

/** The last drill of a host, as status shows it: which window, proven or not, when. */
const drillSummary = (d: DrillRecord): Record<string, unknown> => ({
  result: d.result,
  window: d.window,
  finishedAt: d.finishedAt,
  execution: d.execution,
  ...(d.differences.length > 0 ? { differences: d.differences.map((x) => x.message) } : {}),
  ...(d.error ? { error: d.error } : {}),
});

/** The RTO estimate of a host, as status shows it. */
const rtoSummary = (e: RtoEstimate, budgetSeconds: number): Record<string, unknown> => ({
  estimateSeconds: e.seconds,
  budgetSeconds,
  loadSeconds: e.loadSeconds,
  replaySeconds: e.replaySeconds,
  dumpBytes: e.dump.bytes,
  binlogBytes: e.binlogBytes,
  rates: e.rates,
});

const human = (seconds: number | null): string => {
  if (seconds === null) return '-';
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
};

const describe = (c: Catalog, a: Assessment, drill?: DrillRecord, rto?: { estimate?: RtoEstimate; budgetSeconds: number }): string[] => {
  const lines = [`${c.host}  ${a.health.toUpperCase()}`];
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
  if (rto?.estimate) {
    const e = rto.estimate;
    lines.push(
      `  rto          about ${human(e.seconds)} to restore the latest second (load ${human(e.loadSeconds)}, replay ${human(e.replaySeconds)} of ${e.binlogs} binlogs), budget ${human(rto.budgetSeconds)}; ${e.rates.source === 'measured' ? 'rates measured by restores' : 'default rates (no restore measured yet)'}`,
    );
  }
  if (drill) {
    const what = drill.result === 'proven' ? 'proven' : `FAILED (${drill.differences[0]?.message ?? drill.error ?? '?'})`;
    lines.push(`  last drill   window ${drill.window.from} → ${drill.window.to}: ${what} by the drill at ${drill.finishedAt}`);
  }
  lines.push(`  failed       ${c.failedObjects.length === 0 ? 'none' : ''}`.trimEnd());
  for (const f of c.failedObjects) lines.push(`    ${f.key}: ${f.reasons.join('; ')}`);
  for (const f of a.findings) lines.push(`  ${f.severity.padEnd(12)} ${f.message}`);
  return lines;
};

/** One line for cron mail: the worst health first, then each host's first problem (or its lag). */
const brief = (health: Health, hosts: { catalog: Catalog; assessment: Assessment }[]): string =>
  `${health.toUpperCase()}: ${hosts
    .map(({ catalog: c, assessment: a }) => {
      const [first, ...more] = a.findings;
      if (!first) return `${c.host} ok, restorable to ${c.latestRestorableTime ?? '?'} (lag ${human(c.lagSeconds)})`;
      return `${c.host} ${first.severity}: ${first.message}${more.length > 0 ? ` (+${more.length} more)` : ''}`;
    })
    .join('; ')}`;

/**
 * The report and exit code of `status` for the catalogs read (pure): each host assessed as the
 * watchdog would alert, the worst of them the exit code; no host at all is critical.
 */
export const statusReport = (
  catalogs: Catalog[],
  now: Date,
  thresholds: Thresholds,
  options: { json: boolean; brief: boolean; where: string },
  drills: Record<string, { last?: DrillRecord; lastProvenAt?: string } | undefined> = {},
  estimates: Record<string, RtoEstimate | undefined> = {},
): { lines: string[]; code: number } => {
  const hosts = catalogs.map((catalog) => {
    const rto = estimates[catalog.host];
    return { catalog, assessment: assess(catalog, now, thresholds, { drills: drills[catalog.host] ?? {}, ...(rto ? { rto } : {}) }) };
  });
  const rtoOf = (host: string): { estimate?: RtoEstimate; budgetSeconds: number } => ({ ...(estimates[host] ? { estimate: estimates[host] } : {}), budgetSeconds: thresholds.rtoSeconds });
  const none: Finding = { severity: 'critical', type: 'nothing-shipped', message: `no hosts under ${options.where} yet` };
  const health = hosts.length === 0 ? 'critical' : hosts.reduce<Health>((h, x) => worse(h, x.assessment.health), 'ok');
  const code = STATUS_EXIT[health];
  if (options.json) {
    const report = { schemaVersion: STATUS_SCHEMA_VERSION, status: health, ...(hosts.length === 0 ? { problems: [none] } : {}), hosts: hosts.map((h) => statusJson(h.catalog, h.assessment, drills[h.catalog.host]?.last, rtoOf(h.catalog.host))) };
    return { lines: [JSON.stringify(report)], code };
  }
  if (hosts.length === 0) return { lines: [options.brief ? `CRITICAL: ${none.message}` : none.message], code };
  if (options.brief) return { lines: [brief(health, hosts)], code };
  return { lines: hosts.flatMap((h) => describe(h.catalog, h.assessment, drills[h.catalog.host]?.last, rtoOf(h.catalog.host))), code };
};

/** `binvault status [--host H] [--json] [--brief]`: exit 0 all current, 1 a warning, 2 a problem. */
export const statusCommand = async (config: Config, args: { host?: string; brief?: boolean }, io: CommandIo): Promise<number> => {
  const store = S3Store.fromConfig(config);
  const hosts = args.host ? [args.host] : await listHosts(store, config.prefix);
  const catalogs: Catalog[] = [];
  const drills: Record<string, { last?: DrillRecord; lastProvenAt?: string }> = {};
  const estimates: Record<string, RtoEstimate | undefined> = {};
  for (const host of hosts) {
    const scope = { prefix: config.prefix, host };
    const catalog = await loadCatalog(store, scope, systemClock.now());
    catalogs.push(catalog);
    drills[host] = await drillHistory(store, scope);
    estimates[host] = await estimateHost(store, scope, catalog);
  }
  const { lines, code } = statusReport(catalogs, systemClock.now(), config.thresholds, { json: io.json, brief: args.brief === true, where: `s3://${config.bucket}/${config.prefix}/` }, drills, estimates);
  io.out(lines.join('\n'));
  return code;
};

/** `binvault catalog rebuild [--host H]`: every host's catalog made again from its records alone. */
export const catalogRebuildCommand = async (config: Config, args: { host?: string }, io: CommandIo): Promise<number> => {
  const store = S3Store.fromConfig(config);
  const hosts = args.host ? [args.host] : await listHosts(store, config.prefix);
  for (const host of hosts) {
    const rebuilt = await rebuildHost(store, { prefix: config.prefix, host }, systemClock);
    const line = { host, records: rebuilt.records, binlogs: rebuilt.binlogs, dumps: rebuilt.dumps, segments: rebuilt.segments, gaps: rebuilt.catalog.gaps.length };
    io.out(io.json ? JSON.stringify(line) : `rebuilt ${host}: ${line.binlogs} binlogs, ${line.dumps} dumps, ${line.gaps} gaps, ${line.segments} hour segments`);
  }
  return 0;
};

const host = (values: Record<string, unknown>): { host?: string } => (typeof values.host === 'string' ? { host: values.host } : {});

export const status: Command = {
  name: 'status',
  synopsis: '[--host H] [--brief]',
  summary: 'per host: restorable windows, lag, dumps, gaps, failures; exit 0/1/2 for monitoring',
  help: `Per host (all hosts under BINVAULT_PREFIX by default): the windows of time to any second of which a
restore is possible, the earliest and latest restorable time and how far the latest lags behind
now, the last verified dump and binlog, the breaks in the binlog chain (delayed, missing, corrupt,
reset), the objects that failed verification, and the host's health: what the watchdog alerts on
(a gap, a failed object, a stale restorable time, no dump within the schedule) is critical; a
binlog still on its way, a lag past half the stale threshold, binlogs with no dump yet are warnings.
The last restore drill (binvault drill) of each host is shown too: which window it proved, or what differed.
The RTO estimate: how long a restore to the latest restorable time would take (load of the newest
verified dump, replay of every binlog since it, at the rates restores of the host measured); past
BINVAULT_RTO_SECONDS it is a warning (rto-at-risk).
Thresholds: BINVAULT_STALE_SECONDS, BINVAULT_DUMP_INTERVAL_HOURS, BINVAULT_DUMP_GRACE_MINUTES, BINVAULT_RTO_SECONDS.

  --host H        only this host
  --brief         one line: the worst health, then each host's first problem (for cron mail)
  --json          {"schemaVersion": 1, "status": "ok"|"warning"|"critical", "hosts": [{…, "status", "problems"}]}

exit: 0 every host current, 1 a warning, 2 a problem (or no host at all), 3 the status could not
be read (the configuration, the bucket: one line on stderr)
`,
  options: { host: { type: 'string' }, brief: { type: 'boolean' } },
  run: async ({ values, config, io }) => {
    try {
      return await statusCommand(await config(), { ...host(values), brief: values.brief === true }, io);
    } catch (error) {
      // A check that cannot look is neither ok nor a known problem: monitoring's UNKNOWN.
      throw new StatusUnknownError(messageOf(error), { cause: error });
    }
  },
};

export const catalogRebuild: Command = {
  name: 'catalog rebuild',
  synopsis: '[--host H]',
  summary: 'rebuild the catalog from the records',
  help: `Makes every host's catalog (or one host's) again from its verification records alone: one segment
per hour ({prefix}/{host}/catalog/segments/{hour}.jsonl), the head, and removes the day manifests
of the old layout ({prefix}/{host}/catalog/{day}.json) — the upgrade from that layout. Readers
read both layouts meanwhile. --day D (the old per-day rebuild) is accepted and rebuilds the host.

  --host H        only this host
`,
  options: { host: { type: 'string' }, day: { type: 'string' } },
  run: async ({ values, config, io }) => {
    const day = values.day;
    if (day !== undefined && (typeof day !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(day))) throw new UsageError(`--day '${String(day)}' is not YYYY-MM-DD`);
    return catalogRebuildCommand(await config(), host(values), io);
  },
};

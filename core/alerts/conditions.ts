import type { Catalog } from '../catalog/model.js';
import type { RtoEstimate } from '../restore/rto.js';
import type { Alert, AlertType } from '../ports.js';

/** Thresholds of the watchdog (environment or SSM). */
export interface Thresholds {
  /** shipping-stale when the latest restorable time lags more than this. @default 600 */
  staleSeconds: number;
  /** dump-missed when no verified dump completed within this … @default 24 h */
  dumpIntervalSeconds: number;
  /** … plus this grace. @default 1 h */
  dumpGraceSeconds: number;
  /** drill-stale when no drill proved a window within this (plus the dump grace); 0: drills are not scheduled. @default 7 days */
  drillIntervalSeconds: number;
  /** The RTO budget: rto-at-risk when a restore to the latest restorable time would take longer. @default 1800 */
  rtoSeconds: number;
}

export const DEFAULT_THRESHOLDS: Thresholds = { staleSeconds: 600, dumpIntervalSeconds: 86_400, dumpGraceSeconds: 3_600, drillIntervalSeconds: 7 * 86_400, rtoSeconds: 1_800 };

/** What the drill records of a host say, for drill-stale: when the last drill that proved its window finished. */
export interface DrillHistory {
  lastProvenAt?: string;
}

/** What the watchdog and status know of a host besides its catalog, where they read it. */
export interface HostFacts {
  /** Its drill records (drill-stale). */
  drills?: DrillHistory;
  /** The estimate of a restore to its latest restorable time (rto-at-risk). */
  rto?: RtoEstimate;
}

/** A condition that holds now; its id stays the same for as long as it holds. */
export interface Condition {
  id: string;
  type: AlertType;
  severity: Alert['severity'];
  message: string;
  details: Record<string, unknown>;
}

const seconds = (iso: string): number => Date.parse(iso) / 1000;

/**
 * drill-stale: the host has a window a drill can prove (a verified dump after the earliest one), and
 * no drill proved one within the drill interval (plus the dump grace) — counted from the last proven
 * drill, or, before any, from the earliest restorable time (since when there are backups to prove). Pure.
 */
export const drillStale = (catalog: Catalog, drills: DrillHistory, now: Date, thresholds: Thresholds = DEFAULT_THRESHOLDS): Condition | undefined => {
  if (thresholds.drillIntervalSeconds <= 0) return undefined;
  const since = catalog.earliestRestorableTime;
  const lastDump = catalog.lastDump?.completedAt;
  if (since === null || lastDump === undefined || seconds(lastDump) <= seconds(since)) return undefined;
  const reference = drills.lastProvenAt ?? since;
  const age = now.getTime() / 1000 - seconds(reference);
  if (age <= thresholds.drillIntervalSeconds + thresholds.dumpGraceSeconds) return undefined;
  const days = (s: number): string => `${Math.round((s / 86_400) * 10) / 10} days`;
  const due = `drills are due every ${days(thresholds.drillIntervalSeconds)}`;
  return {
    id: 'drill-stale',
    type: 'drill-stale',
    severity: 'warning',
    message: drills.lastProvenAt
      ? `no drill has proven a window of ${catalog.host} since ${drills.lastProvenAt} (${days(age)} ago; ${due}): run binvault drill, or check its schedule`
      : `no drill has ever proven a window of ${catalog.host}, restorable since ${since} (${days(age)} ago; ${due}): run binvault drill, or check its schedule`,
    details: { lastProvenAt: drills.lastProvenAt ?? null, restorableSince: since },
  };
};

/** rto-at-risk: a restore to the latest restorable time would take longer than the budget. Pure. */
export const rtoCondition = (estimate: RtoEstimate | undefined, thresholds: Thresholds): Condition | undefined => {
  if (!estimate || estimate.seconds <= thresholds.rtoSeconds) return undefined;
  return {
    id: 'rto-at-risk',
    type: 'rto-at-risk',
    severity: 'warning',
    message:
      `a restore to the latest restorable time would take about ${estimate.seconds} s (load ${estimate.loadSeconds} s of the dump, replay ${estimate.replaySeconds} s of ` +
      `${estimate.binlogs} binlogs since it), past the ${thresholds.rtoSeconds} s RTO budget: take a dump (the shipper's --loop takes one on its own)`,
    details: { estimateSeconds: estimate.seconds, budgetSeconds: thresholds.rtoSeconds, dump: estimate.dump.key, binlogBytes: estimate.binlogBytes, rates: estimate.rates },
  };
};

/** What is wrong with a host now, from its catalog (and its drill records and RTO estimate, where read). Pure. */
export const evaluate = (catalog: Catalog, now: Date, thresholds: Thresholds = DEFAULT_THRESHOLDS, facts: HostFacts = {}): Condition[] => {
  const t = now.getTime() / 1000;
  const conditions: Condition[] = [];
  for (const gap of catalog.gaps) {
    if (gap.kind !== 'missing') continue;
    conditions.push({
      id: `gap:${gap.after ?? ''}..${gap.before ?? ''}:${(gap.missing ?? []).join(',')}`,
      type: 'gap',
      severity: 'critical',
      message: `binlogs ${gap.missing && gap.missing.length > 0 ? gap.missing.join(', ') : `between ${gap.after ?? '?'} and ${gap.before ?? '?'}`} are missing: ${gap.reason}; nothing after ${gap.since ?? 'the gap'} is restorable from the dumps before it`,
      details: { after: gap.after, before: gap.before, since: gap.since, missing: gap.missing ?? [] },
    });
  }
  for (const failed of catalog.failedObjects) {
    conditions.push({
      id: `verification-failed:${failed.key}`,
      type: 'verification-failed',
      severity: 'critical',
      message: `${failed.key} failed verification: ${failed.reasons.join('; ')}`,
      details: { key: failed.key, reasons: failed.reasons },
    });
  }
  const firstSeen = catalog.chain[0]?.firstEventTime;
  const lastDumpAt = catalog.lastDump?.completedAt;
  const reference = lastDumpAt ?? firstSeen;
  if (reference && t - seconds(reference) > thresholds.dumpIntervalSeconds + thresholds.dumpGraceSeconds) {
    conditions.push({
      id: 'dump-missed',
      type: 'dump-missed',
      severity: 'critical',
      message: lastDumpAt
        ? `no verified dump since ${lastDumpAt} (${Math.round((t - seconds(lastDumpAt)) / 3600)} h ago)`
        : `no verified dump at all, binlogs since ${firstSeen ?? '?'}`,
      details: { lastDump: catalog.lastDump },
    });
  }
  const restorable = catalog.latestRestorableTime ?? catalog.lastBinlog?.lastEventTime;
  if (restorable && t - seconds(restorable) > thresholds.staleSeconds) {
    conditions.push({
      id: 'shipping-stale',
      type: 'shipping-stale',
      severity: 'warning',
      message: `the latest restorable time ${restorable} lags ${Math.round(t - seconds(restorable))} s behind now (threshold ${thresholds.staleSeconds} s): is the shipper running?`,
      details: { latestRestorableTime: restorable },
    });
  }
  const stale = facts.drills ? drillStale(catalog, facts.drills, now, thresholds) : undefined;
  if (stale) conditions.push(stale);
  const atRisk = rtoCondition(facts.rto, thresholds);
  if (atRisk) conditions.push(atRisk);
  return conditions;
};

/** How a host stands, for `binvault status` (and its exit code): 0 ok, 1 warning, 2 critical. */
export type Health = 'ok' | 'warning' | 'critical';

/** One reason a host is not ok. */
export interface Finding {
  severity: Exclude<Health, 'ok'>;
  /** An alert type, or a warning that alerts nobody: `delayed`, `lagging`, `nothing-restorable`, `nothing-shipped`. */
  type: AlertType | 'delayed' | 'lagging' | 'nothing-restorable' | 'nothing-shipped';
  message: string;
}

export interface Assessment {
  health: Health;
  findings: Finding[];
}

/** The worse of two. */
export const worse = (a: Health, b: Health): Health => (a === 'critical' || b === 'critical' ? 'critical' : a === 'warning' || b === 'warning' ? 'warning' : 'ok');

/**
 * What `status` reports of a host: every condition the watchdog alerts on is critical but a stale
 * drill, a warning: the windows are restorable, only not proven lately (so the two
 * never disagree on what a gap, a stale window or a missed dump is), plus the warnings that come
 * before one — a binlog still on its way (`delayed`), a lag past half the stale threshold, a host
 * with binlogs but no dump yet. A host with nothing at all shipped is critical. Pure.
 */
export const assess = (catalog: Catalog, now: Date, thresholds: Thresholds = DEFAULT_THRESHOLDS, facts: HostFacts = {}): Assessment => {
  const t = now.getTime() / 1000;
  // Warnings: every second is still restorable, only later than the budget (rto-at-risk) or not proven lately (drill-stale).
  const findings: Finding[] = evaluate(catalog, now, thresholds, facts).map((c) => ({ severity: c.type === 'rto-at-risk' || c.type === 'drill-stale' ? 'warning' : 'critical', type: c.type, message: c.message }));
  const has = (type: Finding['type']): boolean => findings.some((f) => f.type === type);
  if (catalog.chain.length === 0 && !catalog.lastDump) {
    findings.push({ severity: 'critical', type: 'nothing-shipped', message: `nothing shipped for ${catalog.host}: no verified binlog and no verified dump` });
  }
  for (const gap of catalog.gaps) {
    if (gap.kind !== 'delayed') continue;
    findings.push({ severity: 'warning', type: 'delayed', message: `${gap.missing?.join(', ') ?? `the binlog after ${gap.after ?? '(start)'}`}: ${gap.reason}` });
  }
  const restorable = catalog.latestRestorableTime ?? catalog.lastBinlog?.lastEventTime;
  if (restorable && !has('shipping-stale') && t - seconds(restorable) > thresholds.staleSeconds / 2) {
    findings.push({
      severity: 'warning',
      type: 'lagging',
      message: `the latest restorable time ${restorable} lags ${Math.round(t - seconds(restorable))} s behind now (past half the ${thresholds.staleSeconds} s threshold)`,
    });
  }
  if (!catalog.latestRestorableTime && catalog.chain.length > 0 && !has('dump-missed')) {
    findings.push({ severity: 'warning', type: 'nothing-restorable', message: 'nothing restorable yet: binlogs are shipped, no verified dump yet (binvault ship dump)' });
  }
  return { health: findings.reduce<Health>((h, f) => worse(h, f.severity), 'ok'), findings };
};

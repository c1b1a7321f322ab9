import type { Catalog } from '../catalog/model.js';
import type { Alert, AlertType } from '../ports.js';

/** Thresholds of the watchdog (environment or SSM). */
export interface Thresholds {
  /** shipping-stale when the latest restorable time lags more than this. @default 600 */
  staleSeconds: number;
  /** dump-missed when no verified dump completed within this … @default 24 h */
  dumpIntervalSeconds: number;
  /** … plus this grace. @default 1 h */
  dumpGraceSeconds: number;
}

export const DEFAULT_THRESHOLDS: Thresholds = { staleSeconds: 600, dumpIntervalSeconds: 86_400, dumpGraceSeconds: 3_600 };

/** A condition that holds now; its id stays the same for as long as it holds. */
export interface Condition {
  id: string;
  type: AlertType;
  severity: Alert['severity'];
  message: string;
  details: Record<string, unknown>;
}

const seconds = (iso: string): number => Date.parse(iso) / 1000;

/** What is wrong with a host now, from its catalog. Pure. */
export const evaluate = (catalog: Catalog, now: Date, thresholds: Thresholds = DEFAULT_THRESHOLDS): Condition[] => {
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
  return conditions;
};

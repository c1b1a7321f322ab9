import { listHosts, loadCatalog, type CatalogOptions } from '../catalog/manifests.js';
import { alertStateKey } from '../layout.js';
import { updateJson } from '../update-json.js';
import type { Alerts, Clock, ObjectStore } from '../ports.js';
import { estimateHost } from '../restore/rto.js';
import { evaluate, type Condition, type DrillHistory, type Thresholds } from './conditions.js';

/** `{prefix}/{host}/alerts/state.json`: the conditions that hold, as last announced. */
interface AlertState {
  conditions: Record<string, { type: Condition['type']; since: string; message: string }>;
}

export interface WatchResult {
  host: string;
  started: string[];
  cleared: string[];
  active: string[];
}

/**
 * Announces the conditions of the given types that hold now against the state in the bucket: one
 * alert when a condition starts, one when it clears, never again in between. Each caller owns its
 * types (the watchdog its five, retention `retention-blocked`) and leaves the others' state alone.
 * A failed verification was announced by the verify function itself: only its clearing is sent here.
 */
export const reconcileAlerts = async (
  deps: { store: ObjectStore; alerts: Alerts; clock: Clock },
  scope: { prefix: string; host: string },
  conditions: Condition[],
  owned: Condition['type'][],
): Promise<Omit<WatchResult, 'host'>> => {
  const now = deps.clock.now();
  const changes = await updateJson<AlertState, { state: AlertState; started: Condition[]; cleared: string[] }>(
    deps.store,
    alertStateKey(scope),
    (current) => {
      const state: AlertState = current ?? { conditions: {} };
      const holding = new Map(conditions.map((c) => [c.id, c]));
      const started = conditions.filter((c) => !(c.id in state.conditions));
      const cleared = Object.keys(state.conditions).filter((id) => owned.includes(state.conditions[id]?.type as Condition['type']) && !holding.has(id));
      if (started.length === 0 && cleared.length === 0) return { result: { state, started, cleared } };
      const next: AlertState = { conditions: {} };
      for (const [id, value] of Object.entries(state.conditions)) if (!owned.includes(value.type)) next.conditions[id] = value;
      for (const c of conditions) next.conditions[c.id] = state.conditions[c.id] ?? { type: c.type, since: now.toISOString(), message: c.message };
      // State first, alerts after: an alert is sent at least once, never on every pass.
      return { next, result: { state, started, cleared } };
    },
    { attempts: 6 },
  );
  for (const c of changes.started) {
    if (c.type === 'verification-failed') continue;
    await deps.alerts.publish({ type: c.type, host: scope.host, severity: c.severity, message: c.message, at: now.toISOString(), state: 'started', id: c.id, ...c.details });
  }
  for (const id of changes.cleared) {
    const was = changes.state.conditions[id];
    if (!was) continue;
    await deps.alerts.publish({ type: was.type, host: scope.host, severity: 'info', message: `cleared: ${was.message}`, at: now.toISOString(), state: 'cleared', id, since: was.since });
  }
  return { started: changes.started.map((c) => c.id), cleared: changes.cleared, active: conditions.map((c) => c.id) };
};

const WATCHED: Condition['type'][] = ['gap', 'verification-failed', 'dump-missed', 'shipping-stale', 'drill-stale', 'rto-at-risk'];

/** The watchdog's pass: every host's catalog, its conditions, announced by reconcileAlerts. */
export const watch = async (
  deps: { store: ObjectStore; alerts: Alerts; clock: Clock },
  options: {
    prefix: string;
    thresholds: Thresholds;
    hosts?: string[];
    thresholdsFor?: (host: string) => Promise<Thresholds>;
    /** The host's drill records (for drill-stale); without it, drill-stale is not evaluated. */
    drillHistory?: (scope: { prefix: string; host: string }) => Promise<DrillHistory>;
  } & CatalogOptions,
): Promise<WatchResult[]> => {
  const results: WatchResult[] = [];
  for (const host of options.hosts ?? (await listHosts(deps.store, options.prefix))) {
    const scope = { prefix: options.prefix, host };
    const now = deps.clock.now();
    const catalog = await loadCatalog(deps.store, scope, now, options);
    const thresholds = options.thresholdsFor ? await options.thresholdsFor(host) : options.thresholds;
    const drills = options.drillHistory ? await options.drillHistory(scope) : undefined;
    const rto = await estimateHost(deps.store, scope, catalog);
    const conditions = evaluate(catalog, now, thresholds, { ...(drills ? { drills } : {}), ...(rto ? { rto } : {}) });
    results.push({ host, ...(await reconcileAlerts(deps, scope, conditions, WATCHED)) });
  }
  return results;
};

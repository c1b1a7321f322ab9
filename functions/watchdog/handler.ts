import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { watch, type WatchResult } from '../../core/alerts/watch.js';
import { settingsFor } from '../../core/config.js';
import { drillHistory } from '../../core/restore/drill.js';
import { lambdaDeps, type FunctionDeps } from '../commons/deps.js';
import { addMetric, lambdaTelemetry, withTelemetry, type Telemetry } from '../commons/powertools.js';

/** On its schedule (every 5 minutes): every host's conditions, announced once when they start and once when they clear. */
export const runWatchdog = async (deps: FunctionDeps, telemetry: Telemetry): Promise<WatchResult[]> => {
  const { config } = deps;
  const results = await watch(
    { store: deps.store(config.bucket), alerts: deps.alerts, clock: deps.clock },
    {
      prefix: config.prefix,
      thresholds: config.thresholds,
      thresholdsFor: async (host) => (await settingsFor(host, deps.parameters, config)).thresholds,
      delayGraceSeconds: config.delayGraceSeconds,
      drillHistory: (scope) => drillHistory(deps.store(config.bucket), scope),
    },
  );
  // The heartbeat: the WatchdogNotRunning alarm fires when a quarter of an hour has none.
  addMetric(telemetry, 'watchdogRuns', MetricUnit.Count, 1);
  for (const r of results) {
    addMetric(telemetry, 'activeConditions', MetricUnit.Count, r.active.length);
    if (r.started.length > 0 || r.cleared.length > 0) telemetry.logger.info('alerts', { host: r.host, started: r.started, cleared: r.cleared });
  }
  return results;
};

export const createWatchdogHandler = (deps: () => FunctionDeps, telemetry: Telemetry = lambdaTelemetry) =>
  withTelemetry(() => runWatchdog(deps(), telemetry), telemetry);

export const handler = createWatchdogHandler(lambdaDeps);

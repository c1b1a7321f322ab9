import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { settingsFor } from '../../core/config.js';
import { RetentionFailedError } from '../../core/errors.js';
import { runRetention, type RetentionResult } from '../../core/retention/run.js';
import { lambdaDeps, type FunctionDeps } from '../commons/deps.js';
import { addMetric, lambdaTelemetry, withTelemetry, type Telemetry } from '../commons/powertools.js';

/** Daily: every host's retention plan, applied when it proves its promise. */
export const applyRetention = async (deps: FunctionDeps, telemetry: Telemetry): Promise<RetentionResult[]> => {
  const { config } = deps;
  const results = await runRetention(
    { store: deps.store(config.bucket), alerts: deps.alerts, clock: deps.clock },
    {
      prefix: config.prefix,
      policy: config.retention,
      policyFor: async (host) => (await settingsFor(host, deps.parameters, config)).policy,
      timeZone: config.timeZone,
      dryRun: false,
    },
  );
  for (const r of results) {
    addMetric(telemetry, 'deletedObjects', MetricUnit.Count, r.deleted.length);
    addMetric(telemetry, 'deletedBytes', MetricUnit.Bytes, r.freedBytes);
    addMetric(telemetry, 'heldObjects', MetricUnit.Count, r.held.length);
    addMetric(telemetry, 'failedDeletes', MetricUnit.Count, r.failed.length);
    telemetry.logger.info('retention', { host: r.host, deleted: r.deleted.length, freedBytes: r.freedBytes, held: r.held.length, orphans: r.orphans.length, failed: r.failed, blocked: r.plan.blocked, windowsAfter: r.plan.windowsAfter });
  }
  // The alert is out; the error makes the run count as failed (the RetentionErrors alarm).
  const failed = results.flatMap((r) => r.failed);
  if (failed.length > 0) throw new RetentionFailedError(`retention could not delete ${failed.length} object(s) that no Object Lock holds: ${failed[0]?.key}: ${failed[0]?.reason}`);
  return results;
};

export const createRetentionHandler = (deps: () => FunctionDeps, telemetry: Telemetry = lambdaTelemetry) =>
  withTelemetry(() => applyRetention(deps(), telemetry), telemetry);

export const handler = createRetentionHandler(lambdaDeps);

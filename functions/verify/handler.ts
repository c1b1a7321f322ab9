import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context, S3Event } from 'aws-lambda';
import { verifyObject, type VerifyOutcome } from '../../core/verify-object.js';
import { lambdaDeps, type FunctionDeps } from '../commons/deps.js';
import { parseS3Event } from '../commons/events.js';
import { addMetric, lambdaTelemetry, withTelemetry, type Telemetry } from '../commons/powertools.js';

/** Time kept back to write the record and the alert. */
const RESERVE_MS = 10_000;

/** S3 ObjectCreated on a binlog or a dump: each object verified, its record written, failures alerted. */
export const verifyEvent = async (deps: FunctionDeps, telemetry: Telemetry, event: S3Event, context: Context): Promise<VerifyOutcome[]> => {
  const outcomes: VerifyOutcome[] = [];
  for (const object of parseS3Event(event)) {
    if (!object.created) continue;
    telemetry.logger.appendKeys({ key: object.key });
    const budgetMs = Math.max(0, context.getRemainingTimeInMillis() - RESERVE_MS);
    const started = performance.now();
    const outcome = await verifyObject({ store: deps.store(object.bucket), alerts: deps.alerts, clock: deps.clock }, object.key, {
      maxBytes: Math.floor((budgetMs / 1000) * deps.config.verifyBytesPerSecond),
      signal: AbortSignal.timeout(Math.max(1, budgetMs)),
    });
    outcomes.push(outcome);
    if (outcome.outcome === 'verified') {
      addMetric(telemetry, 'objects', MetricUnit.Count, 1);
      addMetric(telemetry, 'bytes', MetricUnit.Bytes, outcome.record.size);
      addMetric(telemetry, 'failures', MetricUnit.Count, outcome.record.status === 'failed' ? 1 : 0);
      addMetric(telemetry, 'duration', MetricUnit.Milliseconds, performance.now() - started);
      telemetry.logger.info('object verified', { status: outcome.record.status, reasons: outcome.record.reasons, recordKey: outcome.recordKey });
    } else {
      telemetry.logger.info('object skipped', { outcome: outcome.outcome, ...(outcome.outcome === 'ignored' ? { why: outcome.why } : {}) });
    }
  }
  return outcomes;
};

export const createVerifyHandler = (deps: () => FunctionDeps, telemetry: Telemetry = lambdaTelemetry) =>
  withTelemetry((event: S3Event, context: Context) => verifyEvent(deps(), telemetry, event, context), telemetry);

export const handler = createVerifyHandler(lambdaDeps);

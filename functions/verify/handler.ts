import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context, S3Event } from 'aws-lambda';
import { verifyObject, type VerifyOutcome } from '../../core/verify-object.js';
import { lambdaDeps, type FunctionDeps } from '../commons/deps.js';
import { parseS3Event, parseVerifyContinueEvent, type VerifyContinueEvent } from '../commons/events.js';
import { addMetric, lambdaTelemetry, withTelemetry, type Telemetry } from '../commons/powertools.js';

/** Time kept back to write the record and the alert. */
const RESERVE_MS = 10_000;

/**
 * S3 ObjectCreated on a binlog or a dump: each object verified, its record written, failures
 * alerted. An object that does not fit in the time left is verified in steps: the verify pauses at a
 * gzip member boundary with a checkpoint, and this function invokes itself asynchronously with a
 * {@link VerifyContinueEvent} to go on from there.
 */
export const verifyEvent = async (deps: FunctionDeps, telemetry: Telemetry, event: S3Event | VerifyContinueEvent, context: Context): Promise<VerifyOutcome[]> => {
  const outcomes: VerifyOutcome[] = [];
  const continued = parseVerifyContinueEvent(event);
  const objects = continued ? [{ bucket: continued.bucket, key: continued.key, created: true }] : parseS3Event(event);
  for (const object of objects) {
    if (!object.created) continue;
    telemetry.logger.appendKeys({ key: object.key });
    const budgetMs = Math.max(0, context.getRemainingTimeInMillis() - RESERVE_MS);
    const started = performance.now();
    const outcome = await verifyObject({ store: deps.store(object.bucket), alerts: deps.alerts, clock: deps.clock }, object.key, {
      maxBytes: Math.floor((budgetMs / 1000) * deps.config.verifyBytesPerSecond),
      signal: AbortSignal.timeout(Math.max(1, budgetMs)),
      continuable: deps.invoke !== undefined,
      timeLeft: () => context.getRemainingTimeInMillis() - RESERVE_MS,
      ...(continued ? { continuation: { invocations: continued.invocations } } : {}),
    });
    outcomes.push(outcome);
    if (outcome.outcome === 'paused' && deps.invoke) {
      const next: VerifyContinueEvent = { binvault: 'verify-continue', bucket: object.bucket, key: object.key, invocations: outcome.invocations };
      await deps.invoke(context.functionName, next);
      addMetric(telemetry, 'continued', MetricUnit.Count, 1);
      telemetry.logger.info('object verify continues in the next invocation', { storedOffset: outcome.storedOffset, size: outcome.size, invocations: outcome.invocations });
    } else if (outcome.outcome === 'verified') {
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
  withTelemetry((event: S3Event | VerifyContinueEvent, context: Context) => verifyEvent(deps(), telemetry, event, context), telemetry);

export const handler = createVerifyHandler(lambdaDeps);

import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context, S3Event } from 'aws-lambda';
import { systemClock } from '../../core/ports.js';
import { alertsFromEnvironment, storeFor } from '../commons/clients.js';
import { parseS3Event } from '../commons/events.js';
import { logger, metrics } from '../commons/powertools.js';
import { verifyObject, type VerifyOutcome } from '../../core/verify-object.js';

/** Stored bytes a second that verification is sure to reach (gunzip + CRCs + sha256); sizes the guard. */
const BYTES_PER_SECOND = Number(process.env.BINVAULT_VERIFY_BYTES_PER_SECOND ?? 40e6);
/** Time kept back to write the record and the alert. */
const RESERVE_MS = 10_000;

const verifyEvent = async (event: S3Event, context: Context): Promise<VerifyOutcome[]> => {
  const outcomes: VerifyOutcome[] = [];
  for (const object of parseS3Event(event)) {
    if (!object.created) continue;
    logger.appendKeys({ key: object.key });
    const budgetMs = Math.max(0, context.getRemainingTimeInMillis() - RESERVE_MS);
    const started = performance.now();
    const outcome = await verifyObject({ store: storeFor(object.bucket), alerts: alertsFromEnvironment(), clock: systemClock }, object.key, {
      maxBytes: Math.floor((budgetMs / 1000) * BYTES_PER_SECOND),
      signal: AbortSignal.timeout(Math.max(1, budgetMs)),
    });
    outcomes.push(outcome);
    if (outcome.outcome === 'verified') {
      metrics.addMetric('objects', MetricUnit.Count, 1);
      metrics.addMetric('bytes', MetricUnit.Bytes, outcome.record.size);
      metrics.addMetric('failures', MetricUnit.Count, outcome.record.status === 'failed' ? 1 : 0);
      metrics.addMetric('duration', MetricUnit.Milliseconds, performance.now() - started);
      logger.info('object verified', { status: outcome.record.status, reasons: outcome.record.reasons, recordKey: outcome.recordKey });
    } else {
      logger.info('object skipped', { outcome: outcome.outcome, ...(outcome.outcome === 'ignored' ? { why: outcome.why } : {}) });
    }
  }
  return outcomes;
};

export const handler = middy(verifyEvent)
  .use(injectLambdaContext(logger, { clearState: true }))
  .use(logMetrics(metrics));

import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import { ConfigurationError } from '../../core/errors.js';
import { systemClock } from '../../core/ports.js';
import { runRetention, type RetentionResult } from '../../core/retention/run.js';
import { alertsFromEnvironment, storeFor } from '../commons/clients.js';
import { functionConfig, retentionPolicy, settingsFor } from '../../core/config.js';
import { ssmParameters } from '../../drivers/aws/ssm-parameters.js';
import { logger, metrics } from '../commons/powertools.js';

const config = functionConfig();
const policy = retentionPolicy();

/** Daily: every host's retention plan, applied when it proves its promise. */
const applyRetention = async (): Promise<RetentionResult[]> => {
  const bucket = process.env.BINVAULT_BUCKET;
  if (!bucket) throw new ConfigurationError('BINVAULT_BUCKET is not set');
  const results = await runRetention(
    { store: storeFor(bucket), alerts: alertsFromEnvironment(), clock: systemClock },
    {
      prefix: config.prefix,
      policy,
      policyFor: async (host) => (await settingsFor(host, ssmParameters)).policy,
      timeZone: process.env.BINVAULT_TZ ?? 'UTC',
      dryRun: false,
    },
  );
  for (const r of results) {
    metrics.addMetric('deletedObjects', MetricUnit.Count, r.deleted.length);
    metrics.addMetric('deletedBytes', MetricUnit.Bytes, r.bytes.dumps + r.bytes.binlogs);
    metrics.addMetric('heldObjects', MetricUnit.Count, r.held.length);
    logger.info('retention', { host: r.host, deleted: r.deleted.length, held: r.held.length, blocked: r.plan.blocked, windowsAfter: r.plan.windowsAfter });
  }
  return results;
};

export const handler = middy(applyRetention).use(injectLambdaContext(logger, { clearState: true })).use(logMetrics(metrics));

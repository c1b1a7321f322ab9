import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import { watch, type WatchResult } from '../../core/alerts/watch.js';
import { ConfigurationError } from '../../core/errors.js';
import { systemClock } from '../../core/ports.js';
import { alertsFromEnvironment, storeFor } from '../commons/clients.js';
import { functionConfig, settingsFor } from '../../core/config.js';
import { ssmParameters } from '../../drivers/aws/ssm-parameters.js';
import { logger, metrics } from '../commons/powertools.js';

const config = functionConfig();

/** On its schedule (every 5 minutes): every host's conditions, announced once when they start and once when they clear. */
const runWatchdog = async (): Promise<WatchResult[]> => {
  const bucket = process.env.BINVAULT_BUCKET;
  if (!bucket) throw new ConfigurationError('BINVAULT_BUCKET is not set');
  const results = await watch(
    { store: storeFor(bucket), alerts: alertsFromEnvironment(), clock: systemClock },
    {
      prefix: config.prefix,
      thresholds: config.thresholds,
      thresholdsFor: async (host) => (await settingsFor(host, ssmParameters)).thresholds,
      delayGraceSeconds: config.delayGraceSeconds,
    },
  );
  for (const r of results) {
    metrics.addMetric('activeConditions', MetricUnit.Count, r.active.length);
    if (r.started.length > 0 || r.cleared.length > 0) logger.info('alerts', { host: r.host, started: r.started, cleared: r.cleared });
  }
  return results;
};

export const handler = middy(runWatchdog).use(injectLambdaContext(logger, { clearState: true })).use(logMetrics(metrics));

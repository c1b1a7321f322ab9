import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, type MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';

type Unit = (typeof MetricUnit)[keyof typeof MetricUnit];

/** Where a function's logs and metrics go: Powertools on Lambda, the local runtime's own choice there. */
export interface Telemetry {
  logger: Logger;
  /** EMF metrics (on stdout, for CloudWatch); none in the local runtime. */
  metrics?: Metrics;
}

/** One Logger and one Metrics per function, created at cold start (service name from the environment). */
export const lambdaTelemetry: Telemetry = {
  logger: new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'binvault' }),
  metrics: new Metrics({ namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'binvault', serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'binvault' }),
};

/** Adds a metric when the telemetry has metrics. */
export const addMetric = (telemetry: Telemetry, name: string, unit: Unit, value: number): void => {
  telemetry.metrics?.addMetric(name, unit, value);
};

/** The handler around a plain function: the Lambda context in every log line, metrics flushed per invocation. */
export const withTelemetry = <E, R>(fn: (event: E, context: Context) => Promise<R>, telemetry: Telemetry) => {
  const handler = middy(fn).use(injectLambdaContext(telemetry.logger, { clearState: true }));
  return telemetry.metrics ? handler.use(logMetrics(telemetry.metrics)) : handler;
};

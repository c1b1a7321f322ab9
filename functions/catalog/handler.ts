import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { S3Event } from 'aws-lambda';
import { rebuildDay } from '../../core/catalog/manifests.js';
import { systemClock } from '../../core/ports.js';
import { storeFor } from '../commons/clients.js';
import { functionConfig } from '../../core/config.js';
import { parseS3Event } from '../commons/events.js';
import { logger, metrics } from '../commons/powertools.js';

const config = functionConfig();

export interface CatalogOutcome {
  host: string;
  day: string;
  binlogs: number;
  dumps: number;
  windows: { from: string; to: string }[];
  gaps: { kind: string; after: string | null; before: string | null }[];
}

/** `{prefix}/{host}/records/{day}/{name}.json` → the host and day whose manifest it changes. */
const RECORD = /^(?:(.*)\/)?([^/]+)\/records\/(\d{4}-\d{2}-\d{2})\/[^/]+\.json$/;

const rebuildForEvent = async (event: S3Event): Promise<CatalogOutcome[]> => {
  const outcomes: CatalogOutcome[] = [];
  const done = new Set<string>();
  for (const object of parseS3Event(event)) {
    const match = RECORD.exec(object.key);
    if (!match?.[2] || !match[3]) continue;
    const scope = { prefix: match[1] ?? '', host: match[2] };
    const id = `${object.bucket}/${object.key.slice(0, object.key.lastIndexOf('/'))}`;
    if (done.has(id)) continue;
    done.add(id);
    logger.appendKeys({ host: scope.host, day: match[3] });
    const manifest = await rebuildDay(storeFor(object.bucket), scope, match[3], systemClock, { delayGraceSeconds: config.delayGraceSeconds });
    metrics.addMetric('manifests', MetricUnit.Count, 1);
    const outcome: CatalogOutcome = {
      host: scope.host,
      day: match[3],
      binlogs: Object.keys(manifest.binlogs).length,
      dumps: Object.keys(manifest.dumps).length,
      windows: manifest.catalog.windows.map((w) => ({ from: w.from, to: w.to })),
      gaps: manifest.catalog.gaps.map((g) => ({ kind: g.kind, after: g.after, before: g.before })),
    };
    logger.info('catalog rebuilt', { ...outcome });
    outcomes.push(outcome);
  }
  return outcomes;
};

export const handler = middy(rebuildForEvent).use(injectLambdaContext(logger, { clearState: true })).use(logMetrics(metrics));

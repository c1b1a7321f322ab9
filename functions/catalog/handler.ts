import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { S3Event } from 'aws-lambda';
import { rebuildDay } from '../../core/catalog/manifests.js';
import { parseKey } from '../../core/layout.js';
import { lambdaDeps, type FunctionDeps } from '../commons/deps.js';
import { parseS3Event } from '../commons/events.js';
import { addMetric, lambdaTelemetry, withTelemetry, type Telemetry } from '../commons/powertools.js';

export interface CatalogOutcome {
  host: string;
  day: string;
  binlogs: number;
  dumps: number;
  windows: { from: string; to: string }[];
  gaps: { kind: string; after: string | null; before: string | null }[];
}

/** S3 ObjectCreated on a record: the manifest of its host and day rebuilt (once per day per event). */
export const catalogEvent = async (deps: FunctionDeps, telemetry: Telemetry, event: S3Event): Promise<CatalogOutcome[]> => {
  const outcomes: CatalogOutcome[] = [];
  const done = new Set<string>();
  for (const object of parseS3Event(event)) {
    const ref = parseKey(object.key);
    // The catalog's own manifests and every other JSON object arrive here too (S3's filter is a suffix).
    if (ref?.area !== 'records') continue;
    const id = `${object.bucket}/${ref.prefix}/${ref.host}/${ref.day}`;
    if (done.has(id)) continue;
    done.add(id);
    telemetry.logger.appendKeys({ host: ref.host, day: ref.day });
    const manifest = await rebuildDay(deps.store(object.bucket), ref, ref.day, deps.clock, { delayGraceSeconds: deps.config.delayGraceSeconds });
    addMetric(telemetry, 'manifests', MetricUnit.Count, 1);
    const outcome: CatalogOutcome = {
      host: ref.host,
      day: ref.day,
      binlogs: Object.keys(manifest.binlogs).length,
      dumps: Object.keys(manifest.dumps).length,
      windows: manifest.catalog.windows.map((w) => ({ from: w.from, to: w.to })),
      gaps: manifest.catalog.gaps.map((g) => ({ kind: g.kind, after: g.after, before: g.before })),
    };
    telemetry.logger.info('catalog rebuilt', { ...outcome });
    outcomes.push(outcome);
  }
  return outcomes;
};

export const createCatalogHandler = (deps: () => FunctionDeps, telemetry: Telemetry = lambdaTelemetry) =>
  withTelemetry((event: S3Event) => catalogEvent(deps(), telemetry, event), telemetry);

export const handler = createCatalogHandler(lambdaDeps);

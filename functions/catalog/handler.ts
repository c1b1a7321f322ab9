import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { S3Event } from 'aws-lambda';
import { catalogRecord } from '../../core/catalog/manifests.js';
import { parseKey } from '../../core/layout.js';
import type { DrillStarter } from '../../core/ports.js';
import { startDrillForRecord } from '../../core/restore/drill-start.js';
import { sfnClientFor, SfnDrillStarter } from '../../drivers/aws/sfn.js';
import { lambdaDeps, type FunctionDeps } from '../commons/deps.js';
import { parseS3Event } from '../commons/events.js';
import { addMetric, lambdaTelemetry, withTelemetry, type Telemetry } from '../commons/powertools.js';

export interface CatalogOutcome {
  host: string;
  day: string;
  record: string;
  /** The open hour whose summaries hold the record. */
  hour: string;
  /** Hours sealed into segments by this event. */
  sealed: string[];
  /** Days whose hour segments were merged into one. */
  compacted: string[];
  /** Hours still open in the host's head. */
  open: string[];
  /** BINVAULT_DRILL=every-dump: the drill of the window this verified dump closes. */
  drill?: { execution: string; outcome: 'started' | 'exists' };
}

/**
 * S3 ObjectCreated on a record: the record taken into its host's catalog (its summary, the head,
 * the sealing of any hour that is over): constant work per record, whatever the history.
 */
export const catalogEvent = async (deps: FunctionDeps, telemetry: Telemetry, event: S3Event, drills?: DrillStarter): Promise<CatalogOutcome[]> => {
  const outcomes: CatalogOutcome[] = [];
  for (const object of parseS3Event(event)) {
    const ref = parseKey(object.key);
    // Every other JSON object arrives here too (S3's filter is a suffix).
    if (ref?.area !== 'records') continue;
    telemetry.logger.appendKeys({ host: ref.host, day: ref.day });
    const update = await catalogRecord(deps.store(object.bucket), object.key, deps.clock);
    if (!update) continue;
    addMetric(telemetry, 'records', MetricUnit.Count, 1);
    if (update.sealed.length > 0) addMetric(telemetry, 'segments', MetricUnit.Count, update.sealed.length);
    const outcome: CatalogOutcome = { host: ref.host, day: ref.day, record: object.key, hour: update.hour, sealed: update.sealed, compacted: update.compacted, open: update.head.open };
    // every-dump: once the dump is in the catalog, the drill of the window it closes (named by the dump: a duplicate event starts nothing).
    if (drills && deps.config.drill === 'every-dump') {
      const known = 'dump' in update.line ? { kind: 'dump', status: update.line.dump.status } : { kind: 'not a dump' };
      const started = await startDrillForRecord({ store: deps.store(object.bucket), starter: drills }, object.key, known);
      if (started) outcome.drill = { execution: started.execution, outcome: started.outcome };
    }
    telemetry.logger.info('catalog updated', { ...outcome });
    outcomes.push(outcome);
  }
  return outcomes;
};

/** The drill state machine's starter, when the stack names one (BINVAULT_DRILL_STATE_MACHINE_ARN). */
let starter: SfnDrillStarter | undefined;
const drillStarterOf = (deps: FunctionDeps): DrillStarter | undefined => {
  const arn = deps.config.drillStateMachineArn;
  if (!arn) return undefined;
  return (starter ??= new SfnDrillStarter(sfnClientFor(arn), arn));
};

export const createCatalogHandler = (deps: () => FunctionDeps, telemetry: Telemetry = lambdaTelemetry, drills: (d: FunctionDeps) => DrillStarter | undefined = drillStarterOf) =>
  withTelemetry((event: S3Event) => {
    const d = deps();
    return catalogEvent(d, telemetry, event, drills(d));
  }, telemetry);

export const handler = createCatalogHandler(lambdaDeps);

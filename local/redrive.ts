import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { S3Event } from 'aws-lambda';
import type { Config } from '../core/config.js';
import { messageOf } from '../core/errors.js';
import { systemClock } from '../core/ports.js';
import { FileAlerts } from '../drivers/local/file-alerts.js';
import type { RedriveResult } from '../drivers/aws/redrive.js';
import { createCatalogHandler } from '../functions/catalog/handler.js';
import { storesFor, type FunctionDeps } from '../functions/commons/deps.js';
import { createVerifyHandler } from '../functions/verify/handler.js';
import { failedEventsDir, FileLogger, localContext, type FailedEvent } from './runtime.js';

const keyOf = (payload: unknown): string => (payload as Partial<S3Event>).Records?.[0]?.s3.object.key ?? '(no key)';

/**
 * `binvault redrive` on the local runtime: each event in `{stateDir}/failed-events/` handed again
 * to the handler it failed in (the same handlers as on Lambda, in this process, against the
 * configured endpoint); a file goes once its event is handled, and stays while it still fails.
 * The handlers are idempotent: an object verified meanwhile is skipped, not verified twice.
 */
export const redriveLocal = async (config: Config, onResult?: (result: RedriveResult) => void): Promise<RedriveResult[]> => {
  const dir = failedEventsDir(config.stateDir);
  const files = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.json')).sort();
  const deps: FunctionDeps = {
    config,
    store: storesFor(config.s3Endpoint),
    alerts: new FileAlerts(join(config.stateDir, 'alerts.jsonl')),
    clock: systemClock,
  };
  const telemetry = { logger: new FileLogger(join(config.stateDir, 'local.log'), { serviceName: 'binvault-local' }) };
  const handlers = { verify: createVerifyHandler(() => deps, telemetry), catalog: createCatalogHandler(() => deps, telemetry) };
  const results: RedriveResult[] = [];
  for (const file of files) {
    const path = join(dir, file);
    let result: RedriveResult;
    try {
      const failed = JSON.parse(await readFile(path, 'utf8')) as FailedEvent;
      const name = /binvault-local-(\w+)$/.exec(failed.requestContext.functionArn)?.[1] ?? '';
      const handler = handlers[name as keyof typeof handlers];
      const key = keyOf(failed.requestPayload);
      if (!handler) {
        result = { id: file, function: name || failed.requestContext.functionArn, key, outcome: 'failed', error: 'not a function the local runtime has' };
      } else {
        try {
          await handler(failed.requestPayload as S3Event, localContext(name));
          await rm(path, { force: true });
          result = { id: file, function: name, key, outcome: 'redriven' };
        } catch (error) {
          result = { id: file, function: name, key, outcome: 'failed', error: messageOf(error) };
        }
      }
    } catch (error) {
      result = { id: file, function: '', key: '', outcome: 'failed', error: `cannot read ${path}: ${messageOf(error)}` };
    }
    results.push(result);
    onResult?.(result);
  }
  return results;
};

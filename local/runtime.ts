import { randomBytes } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeDirectories } from '../core/files.js';
import { Logger, type LogItem } from '@aws-lambda-powertools/logger';
import type { Context, S3Event } from 'aws-lambda';
import { parseConfig, type Config } from '../core/config.js';
import { BinvaultError } from '../core/errors.js';
import type { WatchResult } from '../core/alerts/watch.js';
import { eventTarget } from '../core/layout.js';
import { systemClock } from '../core/ports.js';
import type { VerifyOutcome } from '../core/verify-object.js';
import { FileAlerts } from '../drivers/local/file-alerts.js';
import { createCatalogHandler, type CatalogOutcome } from '../functions/catalog/handler.js';
import { storesFor, type FunctionDeps } from '../functions/commons/deps.js';
import type { Telemetry } from '../functions/commons/powertools.js';
import { createVerifyHandler } from '../functions/verify/handler.js';
import { createWatchdogHandler } from '../functions/watchdog/handler.js';
import { startLocalEndpoint, type LocalEndpoint, type S3EventRecord } from './s3-endpoint.js';
import type { VersioningOptions } from './s3-versioning.js';

/**
 * The embedded runtime: the S3-protocol endpoint, and the Lambda handlers invoked on its S3 events
 * exactly as S3 notifications would invoke them (one event per object, in order).
 */
export interface LocalRuntimeOptions {
  /** Where its data lives: objects under `{stateDir}/s3`, alerts in `{stateDir}/alerts.jsonl`. */
  stateDir: string;
  bucket: string;
  /** The URL it serves, e.g. `http://127.0.0.1:4569`; port 0 picks a free one. */
  endpoint: string;
  /** Run the handlers on S3 events. @default true */
  handlers?: boolean;
  /** The handlers log at DEBUG instead of INFO (to the runtime's log file, never the console). @default false */
  verbose?: boolean;
  onEvent?: (record: S3EventRecord) => void;
  /** Every verify outcome, as it happens. */
  onVerified?: (outcome: VerifyOutcome) => void;
  /** Every record taken into the catalog, as it happens. */
  onCatalog?: (outcome: CatalogOutcome) => void;
  /** The functions' settings (thresholds, prefix, zone); bucket, endpoint and state are the runtime's own. */
  config?: Config;
  /** Seconds between watchdog passes (on AWS: 5 minutes); 0 runs none. @default 0 */
  watchdogSeconds?: number;
  onWatch?: (results: WatchResult[]) => void;
  /**
   * A handler that threw on its last attempt: as Lambda does for an asynchronous invocation, the
   * event was tried `1 + retries` times, then written to `{stateDir}/failed-events/` (the on-failure
   * destination; `binvault redrive` re-drives it).
   */
  onHandlerError?: (key: string, error: Error) => void;
  /** Retries after a handler's first failure (Lambda's maximumRetryAttempts). @default 2 */
  retries?: number;
  /** The endpoint as the stack's versioned bucket with Object Lock (and a test's denying policy). */
  versioning?: VersioningOptions;
}

export interface LocalRuntime {
  endpoint: LocalEndpoint;
  dataDir: string;
  /** The handlers' JSON logs: `{stateDir}/local.log`. */
  logFile: string;
  /** Resolves once every event delivered so far has been handled. */
  idle(): Promise<void>;
  /** One watchdog pass now (after the events delivered so far). */
  watchdog(): Promise<WatchResult[]>;
  close(): Promise<void>;
}

export const DEFAULT_LOCAL_ENDPOINT = 'http://127.0.0.1:4569';

/** Where the local runtime puts the events its handlers failed (Lambda's on-failure destination). */
export const failedEventsDir = (stateDir: string): string => join(stateDir, 'failed-events');

/**
 * What Lambda sends an on-failure destination (the same shape locally): the function, the event,
 * the last error. `binvault redrive` reads `requestContext.functionArn` and `requestPayload`.
 */
export interface FailedEvent {
  version: '1.0';
  timestamp: string;
  requestContext: { requestId: string; functionArn: string; condition: 'RetriesExhausted'; approximateInvokeCount: number };
  requestPayload: unknown;
  responsePayload: { errorType: string; errorMessage: string };
}

const writeFailedEvent = async (stateDir: string, name: string, event: unknown, attempts: number, error: Error): Promise<void> => {
  const dir = failedEventsDir(stateDir);
  await makeDirectories(dir);
  const at = new Date();
  const requestId = `local-${at.getTime().toString(36)}-${randomBytes(4).toString('hex')}`;
  const failed: FailedEvent = {
    version: '1.0',
    timestamp: at.toISOString(),
    requestContext: { requestId, functionArn: localContext(name).invokedFunctionArn, condition: 'RetriesExhausted', approximateInvokeCount: attempts },
    requestPayload: event,
    responsePayload: { errorType: error.name, errorMessage: error.message },
  };
  await writeFile(join(dir, `${requestId}.json`), `${JSON.stringify(failed, null, 2)}\n`, { mode: 0o600 });
};

/**
 * The handlers' Powertools logger, writing its JSON lines to the runtime's log file: on Lambda they
 * go to CloudWatch; here the console belongs to the runtime's own lines (stdout for results).
 */
export class FileLogger extends Logger {
  public constructor(
    private readonly path: string,
    options: ConstructorParameters<typeof Logger>[0],
  ) {
    super(options);
  }

  protected override printLog(_logLevel: number, log: LogItem): void {
    log.prepareForPrint();
    try {
      appendFileSync(this.path, `${JSON.stringify(log.getAttributes(), this.getJsonReplacer())}\n`, { mode: 0o600 });
    } catch {
      // A log line that cannot be written (a full disk) must not fail the handler it describes.
    }
  }
}

export const localContext = (name: string): Context =>
  ({
    functionName: `binvault-local-${name}`,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:binvault-local-${name}`,
    memoryLimitInMB: '1024',
    awsRequestId: `local-${Date.now().toString(36)}`,
    logGroupName: `/local/binvault-${name}`,
    logStreamName: 'local',
    callbackWaitsForEmptyEventLoop: false,
    // Lambda's longest timeout: locally the guard is time, not a billing limit.
    getRemainingTimeInMillis: () => 15 * 60 * 1000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  }) as Context;

export const startLocalRuntime = async (options: LocalRuntimeOptions): Promise<LocalRuntime> => {
  const url = new URL(options.endpoint);
  const dataDir = join(options.stateDir, 's3');
  const logFile = join(options.stateDir, 'local.log');
  let endpoint: LocalEndpoint;
  try {
    endpoint = await startLocalEndpoint({
      directory: dataDir,
      buckets: [options.bucket],
      address: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port === '' ? 80 : Number(url.port),
      ...(options.versioning ? { versioning: options.versioning } : {}),
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new BinvaultError(
      code === 'EADDRINUSE'
        ? `cannot serve ${options.endpoint}: the address is in use (another binvault local up?)`
        : `cannot serve ${options.endpoint}: ${code ?? (error as Error).message}`,
      { cause: error },
    );
  }

  let queue: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  let runWatchdog = async (): Promise<WatchResult[]> => [];
  if (options.handlers ?? true) {
    // The same handlers as on Lambda, handed the runtime's own configuration and ports.
    const config: Config = {
      ...(options.config ?? parseConfig({}, { hostname: 'local', home: options.stateDir, stateDir: options.stateDir })),
      bucket: options.bucket,
      s3Endpoint: endpoint.url,
      stateDir: options.stateDir,
    };
    // A paused verify's continuation (Lambda's asynchronous self-invocation) joins the event queue.
    const deliver = (target: 'verify' | 'catalog', event: unknown, key: string): void => {
      const attempts = 1 + (options.retries ?? 2);
      queue = queue.then(async () => {
        for (let attempt = 1; ; attempt++) {
          try {
            if (target === 'verify') {
              for (const outcome of (await verify(event as S3Event, localContext('verify'))) as VerifyOutcome[]) options.onVerified?.(outcome);
            } else {
              for (const outcome of (await catalog(event as S3Event, localContext('catalog'))) as CatalogOutcome[]) options.onCatalog?.(outcome);
            }
            return;
          } catch (error) {
            if (attempt < attempts) continue;
            await writeFailedEvent(options.stateDir, target, event, attempts, error as Error).catch(() => undefined);
            options.onHandlerError?.(key, error as Error);
            return;
          }
        }
      });
    };
    const deps: FunctionDeps = {
      config,
      store: storesFor(endpoint.url),
      alerts: new FileAlerts(join(options.stateDir, 'alerts.jsonl')),
      clock: systemClock,
      invoke: async (functionName, event) => {
        if (functionName !== localContext('verify').functionName) throw new Error(`the local runtime invokes only the verify function, not ${functionName}`);
        deliver('verify', event, (event as { key?: string }).key ?? '');
      },
    };
    // Logs to the runtime's log file; no metrics (EMF is CloudWatch's format: nothing here reads it).
    const telemetry: Telemetry = { logger: new FileLogger(logFile, { serviceName: 'binvault-local', logLevel: options.verbose ? 'DEBUG' : 'INFO' }) };
    const verify = createVerifyHandler(() => deps, telemetry);
    const catalog = createCatalogHandler(() => deps, telemetry);
    const watchdog = createWatchdogHandler(() => deps, telemetry);
    runWatchdog = async () => {
      const run = queue.then(async () => (await watchdog({}, localContext('watchdog'))) as WatchResult[]);
      queue = run.then(
        () => undefined,
        () => undefined,
      );
      return run;
    };
    endpoint.onEvent((record) => {
      options.onEvent?.(record);
      if (!record.eventName.startsWith('ObjectCreated')) return;
      const key = record.s3.object.key;
      const target = eventTarget(key);
      if (!target) return;
      deliver(target, { Records: [record] }, key);
    });
    if (options.watchdogSeconds) {
      timer = setInterval(() => {
        void runWatchdog()
          .then((results) => options.onWatch?.(results))
          .catch((error: unknown) => options.onHandlerError?.('watchdog', error as Error));
      }, options.watchdogSeconds * 1000);
    }
  } else if (options.onEvent) {
    endpoint.onEvent(options.onEvent);
  }

  return {
    endpoint,
    dataDir,
    logFile,
    idle: async () => {
      // Events may arrive while the queue drains: wait until it stops growing.
      for (;;) {
        const current = queue;
        await current;
        if (current === queue) return;
      }
    },
    watchdog: () => runWatchdog(),
    close: async () => {
      if (timer) clearInterval(timer);
      await queue;
      await endpoint.close();
    },
  };
};

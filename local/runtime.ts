import { join } from 'node:path';
import type { Context, S3Event } from 'aws-lambda';
import { BinvaultError } from '../core/errors.js';
import type { WatchResult } from '../core/alerts/watch.js';
import type { CatalogOutcome } from '../functions/catalog/handler.js';
import type { VerifyOutcome } from '../core/verify-object.js';
import { startLocalEndpoint, type LocalEndpoint, type S3EventRecord } from './s3-endpoint.js';

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
  /** Show the handlers' own JSON logs and metrics. @default false */
  verbose?: boolean;
  onEvent?: (record: S3EventRecord) => void;
  /** Every verify outcome, as it happens. */
  onVerified?: (outcome: VerifyOutcome) => void;
  /** Every catalog rebuild, as it happens. */
  onCatalog?: (outcome: CatalogOutcome) => void;
  /** Seconds between watchdog passes (on AWS: 5 minutes); 0 runs none. @default 0 */
  watchdogSeconds?: number;
  onWatch?: (results: WatchResult[]) => void;
  /** A handler that threw (the event would be retried by Lambda; here it is reported). */
  onHandlerError?: (key: string, error: Error) => void;
}

export interface LocalRuntime {
  endpoint: LocalEndpoint;
  dataDir: string;
  /** Resolves once every event delivered so far has been handled. */
  idle(): Promise<void>;
  /** One watchdog pass now (after the events delivered so far). */
  watchdog(): Promise<WatchResult[]>;
  close(): Promise<void>;
}

export const DEFAULT_LOCAL_ENDPOINT = 'http://127.0.0.1:4569';

/** The S3 notification filters of the stack: verify on new binlogs and dumps, catalog on new records. */
const VERIFIED_AREAS = /\/(binlogs|dumps)\/\d{4}-\d{2}-\d{2}\/[^/]+$/;
const RECORDS = /\/records\/\d{4}-\d{2}-\d{2}\/[^/]+\.json$/;

const localContext = (name: string): Context =>
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
  let endpoint: LocalEndpoint;
  try {
    endpoint = await startLocalEndpoint({
      directory: dataDir,
      buckets: [options.bucket],
      address: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port === '' ? 80 : Number(url.port),
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
    // The handlers read their configuration from the environment, as on Lambda.
    process.env.BINVAULT_S3_ENDPOINT = endpoint.url;
    process.env.BINVAULT_STATE_DIR = options.stateDir;
    delete process.env.BINVAULT_ALERT_TOPIC_ARN;
    if (!options.verbose) {
      process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
      process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
    }
    process.env.BINVAULT_BUCKET = options.bucket;
    const verify = (await import('../functions/verify/handler.js')).handler;
    const catalog = (await import('../functions/catalog/handler.js')).handler;
    const watchdog = (await import('../functions/watchdog/handler.js')).handler;
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
      const target = VERIFIED_AREAS.test(key) ? 'verify' : RECORDS.test(key) ? 'catalog' : undefined;
      if (!target) return;
      const event = { Records: [record] } as unknown as S3Event;
      queue = queue.then(async () => {
        try {
          if (target === 'verify') {
            for (const outcome of (await verify(event, localContext('verify'))) as VerifyOutcome[]) options.onVerified?.(outcome);
          } else {
            for (const outcome of (await catalog(event, localContext('catalog'))) as CatalogOutcome[]) options.onCatalog?.(outcome);
          }
        } catch (error) {
          options.onHandlerError?.(key, error as Error);
        }
      });
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

import { once } from 'node:events';
import { DEFAULT_LOCAL_ENDPOINT, failedEventsDir, startLocalRuntime } from './runtime.js';
import type { Config } from '../core/config.js';
import type { CommandIo } from '../shipper/commands/io.js';

/** `binvault local up`: the embedded runtime in the foreground until SIGINT or SIGTERM. */
export const localUpCommand = async (config: Config, io: CommandIo): Promise<number> => {
  const runtime = await startLocalRuntime({
    stateDir: config.stateDir,
    bucket: config.bucket,
    endpoint: config.s3Endpoint ?? DEFAULT_LOCAL_ENDPOINT,
    verbose: io.verbose,
    onEvent: (record) => {
      if (io.verbose) io.err(`${record.eventName} s3://${record.s3.bucket.name}/${record.s3.object.key}`);
    },
    onVerified: (outcome) => {
      if (io.json) {
        io.out(JSON.stringify(outcome.outcome === 'verified' ? { ...outcome, record: undefined, status: outcome.record.status, reasons: outcome.record.reasons } : outcome));
      } else if (outcome.outcome === 'verified') {
        const r = outcome.record;
        io.out(`verified ${r.status === 'ok' ? 'ok    ' : 'FAILED'} ${outcome.key}${r.status === 'ok' ? '' : `: ${r.reasons.join('; ')}`}`);
      } else if (outcome.outcome === 'paused') {
        if (io.verbose) io.out(`paused   ${outcome.key} at byte ${outcome.storedOffset} of ${outcome.size} (invocation ${outcome.invocations}; it goes on in the next)`);
      } else if (io.verbose) {
        const why = outcome.outcome === 'ignored' ? outcome.why : 'already verified';
        io.out(`skipped  ${outcome.key} (${why})`);
      }
    },
    onCatalog: (outcome) => {
      if (io.json) io.out(JSON.stringify({ catalog: outcome }));
      else if (io.verbose) io.out(`catalog  ${outcome.record}${outcome.sealed.length > 0 ? ` (sealed ${outcome.sealed.join(', ')})` : ''}`);
    },
    config,
    watchdogSeconds: config.localWatchdogSeconds,
    onHandlerError: (key, error) => io.err(`binvault: handling ${key} failed 3 times: ${error.message} (kept in ${failedEventsDir(config.stateDir)}; binvault redrive re-drives it)`),
  });
  io.out(
    io.json
      ? JSON.stringify({ endpoint: runtime.endpoint.url, bucket: config.bucket, dataDir: runtime.dataDir, logFile: runtime.logFile })
      : `binvault local runtime: S3 endpoint ${runtime.endpoint.url}, bucket ${config.bucket}, data in ${runtime.dataDir}\n` +
          `  use it with: export BINVAULT_S3_ENDPOINT=${runtime.endpoint.url} BINVAULT_BUCKET=${config.bucket}\n` +
          `  the handlers' logs: ${runtime.logFile}\n` +
          '  Ctrl-C stops it',
  );
  const signal = await Promise.race([once(process, 'SIGINT'), once(process, 'SIGTERM')]);
  await runtime.close();
  io.err(`binvault: ${String(signal[0] ?? 'signal')} received; local runtime stopped`);
  return 0;
};

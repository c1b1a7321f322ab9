import type { Command } from './command.js';

/** The embedded runtime, loaded only when one of its commands runs. */
const embedded = () => import('../../local/cli.js');

export const localUp: Command = {
  name: 'local up',
  synopsis: '',
  summary: 'the embedded runtime (local S3 endpoint and handlers) in the foreground',
  help: `Runs the embedded runtime in the foreground until SIGINT/SIGTERM: an S3-protocol endpoint on
BINVAULT_S3_ENDPOINT (default http://127.0.0.1:4569) with the bucket BINVAULT_BUCKET, its data
under BINVAULT_STATE_DIR/s3, and the verify, catalog and watchdog handlers on its events. Every
command works against it with no AWS account. It prints a line per verdict (and alerts on stderr);
the handlers' own JSON logs go to BINVAULT_STATE_DIR/local.log (at DEBUG with --verbose).
`,
  run: async ({ config, io }) => (await embedded()).localUpCommand(await config(), io),
};

export const demo: Command = {
  name: 'demo',
  synopsis: '[--keep]',
  summary: 'the whole story on embedded defaults, no AWS account',
  help: `Starts a throwaway MariaDB/MySQL server (from the binaries on PATH) with a small application and
binlogs on, and the local runtime with its handlers; ships a dump, then binlogs while a workload
runs; shows every object verified and the restorable window; restores to a moment before a disaster
into a fresh instance and proves the tables equal the source at that moment, and every shipped
binlog is in the bucket byte-identical to the file on disk. Exits 0 only if all holds.

  --keep          leave the restored instance running and the data in place (paths are printed)
`,
  options: { keep: { type: 'boolean' } },
  run: async ({ values, io }) => (await embedded()).demoCommand({ keep: values.keep === true }, io),
};

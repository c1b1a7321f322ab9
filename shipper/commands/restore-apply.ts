import { join } from 'node:path';
import type { Config } from '../../core/config.js';
import { ConfigurationError, UsageError } from '../../core/errors.js';
import { makeDirectories } from '../../core/files.js';
import { parseS3Url } from '../../core/layout.js';
import type { TargetInstance } from '../../core/ports.js';
import type { RestorePlan } from '../../core/restore/plan.js';
import { S3Store } from '../../drivers/aws/s3.js';
import { loadDump } from '../../drivers/mysql/load-dump.js';
import { readReached, replayBinlogs } from '../../drivers/mysql/replay.js';
import { readOptionFile } from '../../drivers/mysql/option-file.js';
import type { Command } from './command.js';
import type { CommandIo } from './io.js';

/**
 * `binvault restore apply --step load|replay|reached [--plan s3://…] --defaults-file F`: the part of
 * a restore that runs next to the new server (on AWS through SSM Run Command); prints its result as JSON.
 */
export const restoreApplyCommand = async (config: Config, args: { step: string; plan?: string; defaultsFile: string }, io: CommandIo): Promise<number> => {
  const options = await readOptionFile(args.defaultsFile);
  const instance: TargetInstance = {
    host: options.host ?? 'localhost',
    port: options.port ?? 3306,
    ...(options.socket ? { socket: options.socket } : {}),
    user: options.user ?? 'root',
    defaultsFile: args.defaultsFile,
  };
  if (args.step === 'reached') {
    io.out(JSON.stringify(await readReached(instance)));
    return 0;
  }
  const address = parseS3Url(args.plan ?? '');
  if (!address) throw new ConfigurationError(`--plan '${args.plan ?? ''}' is not an s3://bucket/key of a restore plan`);
  const store = S3Store.fromConfig({ ...config, bucket: address.bucket });
  const plan = JSON.parse((await store.getBytes(address.key)).toString()) as RestorePlan;
  // Rows read ahead and binlogs wait beside the state, on the host's disk (/tmp may be memory).
  const work = join(config.stateDir, 'restore-work');
  await makeDirectories(work, 0o700);
  if (args.step === 'load') {
    io.out(JSON.stringify(await loadDump(store, plan, instance, undefined, work)));
  } else if (args.step === 'replay') {
    io.out(JSON.stringify(await replayBinlogs(store, plan, instance)));
  } else {
    throw new UsageError(`--step '${args.step}' is not load, replay or reached`);
  }
  return 0;
};

export const command: Command = {
  name: 'restore apply',
  synopsis: '--step load|replay|reached [--plan s3://BUCKET/KEY] --defaults-file F',
  summary: 'the steps of a restore that run next to the new server (SSM Run Command on AWS)',
  help: `The part of a restore that runs next to the new server (the state machine runs it there through SSM
Run Command on AWS): load the plan's dump (tables' rows in parallel sessions), replay its binlogs
(in one session), or read the GTID position reached. Rows read ahead and downloaded binlogs wait in
BINVAULT_STATE_DIR/restore-work and are removed as they are used. Prints its result as JSON.

  --step S            load, replay or reached
  --plan s3://B/K     the restore plan (load and replay)
  --defaults-file F   the new server's option file (0600: user, password, socket)
`,
  options: { step: { type: 'string' }, plan: { type: 'string' }, 'defaults-file': { type: 'string' } },
  run: async ({ values, config, io }) => {
    const { step, plan } = values;
    const defaultsFile = values['defaults-file'];
    if (typeof step !== 'string' || typeof defaultsFile !== 'string') throw new UsageError('restore apply needs --step load|replay|reached and --defaults-file');
    return restoreApplyCommand(await config(), { step, defaultsFile, ...(typeof plan === 'string' ? { plan } : {}) }, io);
  },
};

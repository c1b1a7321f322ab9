import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { ConfigurationError, StorageError, UsageError } from '../../core/errors.js';
import { parseS3Url } from '../../core/layout.js';
import { verificationJson, verifyStream, type Verification } from '../../core/verify.js';
import type { Config } from '../../core/config.js';
import { formatBytes } from '../lib/format.js';
import { S3Store } from '../../drivers/aws/s3.js';
import type { Command } from './command.js';
import type { CommandIo } from './io.js';
import { progressView } from './progress.js';

/** Opens a local file or an S3 object (with its metadata) for verification. */
const open = async (
  target: string,
  config: Config,
): Promise<{ body: AsyncIterable<Uint8Array>; size: number; metadata?: Record<string, string> }> => {
  if (target.startsWith('s3://')) {
    const address = parseS3Url(target);
    if (!address) throw new ConfigurationError(`'${target}' is not an s3://bucket/key address`);
    const { bucket, key } = address;
    const store = S3Store.fromConfig({ ...config, bucket });
    const head = await store.head(key);
    if (!head) throw new ConfigurationError(`${target}: no such object`);
    return { body: await store.get(key), size: head.size, metadata: head.metadata };
  }
  let size: number;
  try {
    const info = await stat(target);
    if (!info.isFile()) throw new ConfigurationError(`${target}: not a file`);
    size = info.size;
  } catch (error) {
    if (error instanceof ConfigurationError) throw error;
    throw new ConfigurationError(`${target}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
  return { body: createReadStream(target, { highWaterMark: 1 << 20 }), size };
};

/** Reasons a human reads on one line: the first few, then how many more `--json` has. */
const SHOWN_REASONS = 5;

const reasonLine = (v: Verification): string => {
  const total = v.reasonCount ?? v.reasons.length;
  const shown = v.reasons.slice(0, SHOWN_REASONS);
  if (total <= shown.length) return shown.join('; ');
  const listed = v.reasons.length > shown.length ? ` (--json lists ${v.reasons.length}${v.reasons.length < total ? ` of ${total}` : ''})` : '';
  return `${shown.join('; ')}; and ${total - shown.length} more${listed}`;
};

/** The body as it is read, counted for the progress. */
async function* counted(body: AsyncIterable<Uint8Array>, onBytes: (bytes: number) => void): AsyncGenerator<Uint8Array> {
  let bytes = 0;
  for await (const chunk of body) {
    bytes += chunk.length;
    onBytes(bytes);
    yield chunk;
  }
}

const summary = (v: Verification): string => {
  if (v.binlog) {
    const b = v.binlog;
    const ends = b.end === 'rotate' ? `rotates to ${b.rotateTo ?? '?'}` : b.end === 'stop' ? 'ends with STOP' : 'cut (still open, or crashed)';
    return `binlog ${b.serverVersion ?? '?'}, checksum ${b.checksum ?? '?'}, ${b.events} events, ${b.firstEventTime ?? '?'} → ${b.lastEventTime ?? '?'}, ${ends}${b.gtids ? `, GTIDs ${b.gtids}` : ''}`;
  }
  if (v.dump) {
    const d = v.dump;
    const at = d.binlogFile ? `at ${d.binlogFile}:${d.binlogPosition ?? '?'}` : 'no binlog coordinates';
    return `dump of ${d.serverVersion ?? '?'} by ${d.tool ?? '?'}, ${d.databases.length > 0 ? d.databases.join(', ') : (d.headerDatabase ?? 'one database')}, ${at}${d.gtids ? `, GTIDs ${d.gtids}` : ''}`;
  }
  return v.kind;
};

/** `binvault verify FILE… [--json]`: exit 0 all sound, 1 any failed. */
export const verifyCommand = async (config: Config, targets: string[], io: CommandIo): Promise<number> => {
  let failed = 0;
  const progress = progressView(io);
  try {
    for (const target of targets) {
      let verdict: Verification;
      try {
        const { body, size, metadata } = await open(target, config);
        const read = counted(body, (bytes) => progress.update({ phase: 'verify', done: bytes, total: size }));
        verdict = await verifyStream({ file: target, body: read, ...(metadata ? { metadata } : {}) });
      } catch (error) {
        if (!(error instanceof ConfigurationError) && !(error instanceof StorageError)) throw error;
        verdict = { file: target, kind: 'unknown', status: 'failed', reasons: [(error as Error).message], reasonCount: 1, size: 0, rawSize: 0, sha256: '', gzip: false };
      } finally {
        progress.done();
      }
      if (verdict.status === 'failed') failed++;
      if (io.json) io.out(JSON.stringify(verificationJson(verdict)));
      else if (verdict.status === 'ok') {
        io.out(`ok      ${target}  ${formatBytes(verdict.rawSize)}${verdict.gzip ? ` (gzip ${formatBytes(verdict.size)})` : ''}  ${summary(verdict)}`);
      } else {
        io.out(`FAILED  ${target}  ${reasonLine(verdict)}`);
      }
    }
  } finally {
    progress.done();
  }
  return failed > 0 ? 1 : 0;
};

export const command: Command = {
  name: 'verify',
  synopsis: 'FILE|s3://BUCKET/KEY…',
  summary: 'check binlogs and dumps, raw or gzipped, as the verify function does',
  help: `Checks each binlog or dump, raw or gzipped, local or in the bucket, in one streaming pass: every
gzip member (CRC32, size, no trailing garbage), the sha256 against the shipper's metadata, and the
content — a binlog's magic, format description, every event header, position and CRC32, its times,
server ids, GTIDs and how it ends; a dump's header, coordinates, GTID state, databases and its
"Dump completed" trailer. --json prints one object per file, in order.

exit: 0 all sound, 1 any failed, 2 usage
`,
  operands: 'FILE|s3://BUCKET/KEY…',
  run: async ({ operands, config, io }) => {
    if (operands.length === 0) throw new UsageError('verify needs at least one FILE or s3://BUCKET/KEY');
    return verifyCommand(await config(), operands, io);
  },
};

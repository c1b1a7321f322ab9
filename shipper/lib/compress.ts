import { execFile, spawn } from 'node:child_process';
import { accessSync, closeSync, constants, openSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { crc32 } from 'node:zlib';
import type { ShippingSettings } from '../../core/config.js';
import { BinvaultError } from '../../core/errors.js';

const execFileAsync = promisify(execFile);

/** The compressor could not run, died, or wrote something that does not match its input; nothing was stored. */
export class CompressorError extends BinvaultError {
  public override readonly name: string = 'CompressorError';
}

export type CompressorName = 'zlib' | 'igzip';

export type { ShippingSettings };

/** The compressor a run uses, as chosen at run time. */
export interface Compressor {
  name: CompressorName;
  /** What to show: `igzip 2.30.0 (/usr/bin/igzip)`, `zlib 1.3.0.1-motley (Node)`. */
  description: string;
  /** The igzip program. */
  path?: string;
  /** Threads (zlib) or processes (igzip) compressing at once. */
  threads: number;
  /** gzip level: 1, what the first users' `gzip -1` chose (the host also runs the application). */
  level: number;
  /** Why `auto` fell back to zlib although igzip is on PATH. */
  fallback?: string;
}

export const zlibCompressor = (threads: number): Compressor => ({
  name: 'zlib',
  description: `zlib ${process.versions.zlib ?? ''} (Node), ${threads} thread${threads === 1 ? '' : 's'}`,
  threads,
  level: 1,
});

const INSTALL_HINT = 'Debian/Ubuntu: apt-get install isal; Fedora, and RHEL 8-10 with EPEL: dnf install isa-l-tools';

/** igzip at `path`, probed with `--version`: a program that cannot run says so here, before any upload. */
const probeIgzip = async (path: string): Promise<Compressor> => {
  let stdout: string;
  try {
    ({ stdout } = await execFileAsync(path, ['--version'], { timeout: 10_000 }));
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { signal?: string; stderr?: string };
    const why = e.signal ? `killed by ${e.signal}` : (e.stderr?.trim().split('\n')[0] ?? e.code ?? e.message);
    throw new CompressorError(`igzip at ${path} does not run (${String(why)})`, { cause: error });
  }
  const version = /(\d+\.\d+(?:\.\d+)?)/.exec(stdout)?.[1] ?? 'unknown version';
  // One process: Debian's igzip compresses on one thread whatever -T says (measured), and at about
  // 260 MB/s per core it is faster than the dump tool and than gzip -1 on every core of a small host.
  return { name: 'igzip', description: `igzip ${version} (${path}), 1 process`, path, threads: 1, level: 1 };
};

/** An executable on PATH, as a shell finds it: PATH alone decides, so a host (or a test) can hide or replace it. */
export const onPath = (name: string, path = process.env.PATH ?? ''): string | undefined => {
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not here.
    }
  }
  return undefined;
};

/**
 * The fastest gzip this host has: ISA-L's `igzip` when it is on PATH (or forced), else Node's zlib
 * on up to `maxCores` threads. Forcing igzip where there is none is an error, not a silent fallback.
 */
export const selectCompressor = async (settings: Pick<ShippingSettings, 'compressor' | 'maxCores'>): Promise<Compressor> => {
  if (settings.compressor === 'zlib') return zlibCompressor(settings.maxCores);
  const path = onPath('igzip');
  if (!path) {
    if (settings.compressor === 'igzip') {
      throw new CompressorError(`BINVAULT_COMPRESSOR=igzip, but there is no igzip on PATH (${INSTALL_HINT})`);
    }
    return zlibCompressor(settings.maxCores);
  }
  try {
    return await probeIgzip(path);
  } catch (error) {
    if (settings.compressor === 'igzip') throw error;
    // An optional accelerator that broke must not stop the backups: zlib does the job, and says why.
    return { ...zlibCompressor(settings.maxCores), fallback: (error as Error).message };
  }
};

/** FLG bits of a gzip member header (RFC 1952). */
const FHCRC = 0x02;
const FEXTRA = 0x04;
const FNAME = 0x08;
const FCOMMENT = 0x10;

/** The length of the gzip member header at the start of `b`, or undefined while more bytes are needed. */
const headerLength = (b: Buffer): number | undefined => {
  if (b.length < 10) return undefined;
  const flags = b[3] ?? 0;
  let at = 10;
  if (flags & FEXTRA) {
    if (b.length < at + 2) return undefined;
    at += 2 + b.readUInt16LE(at);
  }
  for (const flag of [FNAME, FCOMMENT]) {
    if (!(flags & flag)) continue;
    const end = b.indexOf(0, at);
    if (end < 0) return undefined;
    at = end + 1;
  }
  if (flags & FHCRC) at += 2;
  return b.length >= at ? at : undefined;
};

/**
 * A gzip member header with FLG.FHCRC set and the CRC16 (the low half of the header's CRC32)
 * appended, so that every decoder rejects a flipped bit in MTIME, XFL or OS.
 */
export const headerWithCrc = (header: Buffer): Buffer => {
  if ((header[3] ?? 0) & FHCRC) return header;
  const out = Buffer.alloc(header.length + 2);
  header.copy(out);
  out[3] = (out[3] ?? 0) | FHCRC;
  out.writeUInt16LE(crc32(out.subarray(0, header.length)) & 0xffff, header.length);
  return out;
};

/** Where igzip reads the raw bytes from. */
export type IgzipInput =
  | { source: AsyncIterable<Uint8Array>; onRaw?: (block: Buffer) => void }
  /** A file igzip reads itself: the raw bytes never pass through this process. */
  | { path: string };

export interface IgzipResult {
  /** CRC32 of the raw bytes, as igzip's trailer states it (checked against the bytes fed to it). */
  rawCrc32: number;
  /** The raw size modulo 2^32, as igzip's trailer states it (ISIZE). */
  isize: number;
  /** igzip's peak RSS (VmHWM), sampled while it ran; 0 when it could not be read. */
  peakRss: number;
}

/** Peak resident memory of a process (VmHWM), 0 when it cannot be read (gone, or not Linux). */
export const peakRssOf = (pid: number | 'self' | undefined): number => {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid ?? 0}/status`, 'utf8'));
    return match?.[1] ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
};

/**
 * Samples a child's peak RSS while it runs (a process that has exited has none to read): the first
 * call and then at most every 200 ms read its VmHWM, which only ever grows.
 */
export const rssSampler = (pid: number | undefined): { sample(): void; peak(): number } => {
  let peak = 0;
  let last = -Infinity;
  return {
    sample: () => {
      const now = performance.now();
      if (now - last < 200) return;
      last = now;
      peak = Math.max(peak, peakRssOf(pid));
    },
    peak: () => peak,
  };
};

/**
 * Raw bytes handed to igzip per write system call. A dump tool's pipe gives 64 KiB a read; each
 * chunk is queued on the corked stdin as it came and the queue goes out in one writev per MiB —
 * the chunks are not joined into a new buffer first (measured: joining them copied every byte once
 * more and made most of this process's garbage).
 */
const FEED_BYTES = 1024 * 1024;

/**
 * One gzip member from one `igzip -1` process, streamed: fed from `input` (or reading a file itself)
 * and drained as it goes, so memory stays at a pipe's worth. Its header is rewritten to carry FHCRC;
 * its trailer (CRC32, ISIZE) is checked against the bytes it was given. A compressor that cannot
 * start, dies, or exits non-zero ends the stream with a {@link CompressorError} before its last bytes
 * count, so the upload that consumes it fails and leaves nothing. `onEnd` gets the figures.
 *
 * One process per object, not one per member: measured on 200 MB of dump, a pool of igzip processes
 * per 4 MiB member took 3.5 s of this process's CPU (spawning from a large process, copying members
 * through pipes) against 0.8 s for one streamed process, and 16 MiB members held 220 MB of memory.
 */
export async function* igzipStream(
  compressor: Compressor,
  input: IgzipInput,
  options: { signal?: AbortSignal; onEnd?: (result: IgzipResult) => void } = {},
): AsyncGenerator<Buffer> {
  const path = compressor.path ?? 'igzip';
  let stdinFd: number | undefined;
  if ('path' in input) stdinFd = openSync(input.path, 'r');
  // -n: no name, MTIME 0 (the object's bytes depend on its content alone); -c: to stdout.
  const child = spawn(path, [`-${compressor.level}`, '-c', '-n'], {
    stdio: [stdinFd ?? 'pipe', 'pipe', 'pipe'],
  });
  if (stdinFd !== undefined) closeSync(stdinFd);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    if (stderr.length < 4096) stderr += d.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
    child.once('error', (error) => resolve({ code: null, signal: null, error }));
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  const kill = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  options.signal?.addEventListener('abort', kill, { once: true });

  let fedSize = 0;
  let fedCrc = 0;
  let sourceError: unknown;
  // Feeds the raw bytes in, with backpressure; a write to a compressor that died fails quietly here,
  // and its exit status says what happened.
  const feeding = (async (): Promise<void> => {
    if (!('source' in input)) return;
    const stdin = child.stdin;
    if (!stdin) return;
    stdin.on('error', () => undefined);
    const drained = (): Promise<void> =>
      new Promise<void>((resolve) => {
        const done = (): void => {
          stdin.off('drain', done);
          stdin.off('close', done);
          resolve();
        };
        stdin.on('drain', done);
        stdin.on('close', done);
      });
    try {
      let corked = 0;
      for await (const chunk of input.source) {
        const block = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        input.onRaw?.(block);
        fedSize += block.length;
        fedCrc = crc32(block, fedCrc);
        if (stdin.destroyed) break;
        if (corked === 0) stdin.cork();
        corked += block.length;
        // Corked, write() says "full" past 16 KiB: the MiB is what bounds the memory here.
        stdin.write(block);
        if (corked >= FEED_BYTES) {
          corked = 0;
          stdin.uncork();
          if (stdin.writableNeedDrain) await drained();
        }
      }
      if (corked > 0) stdin.uncork();
      stdin.end();
    } catch (error) {
      sourceError = error;
      kill();
    }
  })();

  const rss = rssSampler(child.pid);
  let completed = false;
  try {
    let head: Buffer | undefined = Buffer.alloc(0);
    // The last 8 bytes seen: the trailer (CRC32, ISIZE) once the output has ended.
    let tail: Buffer = Buffer.alloc(0);
    const stdout = child.stdout;
    if (stdout) {
      for await (const chunk of stdout as AsyncIterable<Buffer>) {
        rss.sample();
        let out = chunk;
        if (head !== undefined) {
          head = Buffer.concat([head, chunk]);
          const length = headerLength(head);
          if (length === undefined) continue;
          out = Buffer.concat([headerWithCrc(head.subarray(0, length)), head.subarray(length)]);
          head = undefined;
        }
        tail = out.length >= 8 ? out.subarray(out.length - 8) : Buffer.concat([tail, out]).subarray(-8);
        yield out;
      }
    }
    rss.sample();
    const peakRss = rss.peak();
    await feeding;
    const { code, signal, error } = await exited;
    if (sourceError !== undefined) throw sourceError;
    options.signal?.throwIfAborted();
    if (error) throw new CompressorError(`cannot run ${path}: ${error.message}; nothing was stored`, { cause: error });
    if (code !== 0) {
      const why = stderr.trim().split('\n').filter((l) => l !== '').at(-1);
      throw new CompressorError(
        `${path} ${signal ? `was killed by ${signal}` : `exited with code ${String(code)}`}${why ? `: ${why}` : ''}; nothing was stored`,
      );
    }
    if (head !== undefined || tail.length < 8) throw new CompressorError(`${path} wrote no complete gzip stream; nothing was stored`);
    const rawCrc32 = tail.readUInt32LE(0);
    const isize = tail.readUInt32LE(4);
    if ('source' in input && (rawCrc32 !== fedCrc >>> 0 || isize !== fedSize % 2 ** 32)) {
      throw new CompressorError(
        `${path}'s output does not match its input (trailer CRC32 ${rawCrc32.toString(16)}, size ${isize}; fed ${(fedCrc >>> 0).toString(16)}, ${fedSize % 2 ** 32}); nothing was stored`,
      );
    }
    completed = true;
    options.onEnd?.({ rawCrc32, isize, peakRss });
  } finally {
    options.signal?.removeEventListener('abort', kill);
    if (!completed) {
      kill();
      child.stdin?.destroy();
      await feeding.catch(() => undefined);
    }
  }
}

import { EventEmitter, once } from 'node:events';
import { mkdtemp, open, rm, type FileHandle } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { writingLocally } from '../../core/errors.js';
import { DumpSplitter } from '../../core/dump/split.js';
import type { TargetInstance } from '../../core/ports.js';
import { SqlSession } from './sql-client.js';

export interface LoadOptions {
  /** Sessions loading tables' rows beside the main one. @default between 2 and 4, by cores */
  parallel?: number;
  /** Where rows read ahead of their session wait (private, removed afterwards); on the restore host. */
  spillDir: string;
  /** Rows read ahead but not loaded yet, at most; the reading waits beyond. @default 4 GiB */
  readAheadBytes?: number;
  /** SQL the main session runs last, once everything else is in. */
  finally?: string;
  onProgress?: (bytes: number) => void;
}

export interface LoadResult {
  bytes: number;
  tables: number;
  parallel: number;
}

/** A table's rows on local disk, read by its session while they are still being written. */
class Spool {
  private size = 0;
  private complete = false;
  private readonly grown = new EventEmitter();

  private constructor(
    private readonly handle: FileHandle,
    public readonly path: string,
  ) {}

  public static async create(path: string): Promise<Spool> {
    return new Spool(await writingLocally('rows read ahead of their session', dirname(path), () => open(path, 'w+', 0o600)), path);
  }

  public get bytes(): number {
    return this.size;
  }

  public async append(sql: Buffer): Promise<void> {
    await writingLocally('rows read ahead of their session', dirname(this.path), () => this.handle.write(sql, 0, sql.length, this.size));
    this.size += sql.length;
    this.grown.emit('grown');
  }

  public finish(): void {
    this.complete = true;
    this.grown.emit('grown');
  }

  public async *read(): AsyncGenerator<Buffer> {
    let offset = 0;
    for (;;) {
      if (offset < this.size) {
        const buffer = Buffer.allocUnsafe(Math.min(4 << 20, this.size - offset));
        const { bytesRead } = await this.handle.read(buffer, 0, buffer.length, offset);
        offset += bytesRead;
        yield buffer.subarray(0, bytesRead);
      } else if (this.complete) {
        return;
      } else {
        await once(this.grown, 'grown');
      }
    }
  }

  public async remove(): Promise<void> {
    await this.handle.close().catch(() => undefined);
    await rm(this.path, { force: true });
  }
}

interface Job {
  id: number;
  use: Buffer;
  spool: Spool;
  /** The main session has run everything before the rows: the table exists. */
  ready: Promise<void>;
  done: Promise<void>;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/** Every session: the restore's writes stay out of the new server's binlog. */
const UNLOGGED = 'SET SESSION sql_log_bin = 0;\n';

const defaultParallel = (): number => Math.min(4, Math.max(2, availableParallelism()));

/**
 * Loads a dump (a stream of SQL as mysqldump/mariadb-dump write it) into the instance, its tables'
 * rows in parallel sessions beside the main one (see core/dump/split.ts for why the result is the
 * one of a single session). Nothing is logged to the new server's binlog. Any failing statement stops
 * every session and rejects with its error.
 */
export const loadSql = async (source: AsyncIterable<Buffer>, instance: TargetInstance, options: LoadOptions): Promise<LoadResult> => {
  const parallel = Math.max(1, options.parallel ?? defaultParallel());
  const readAhead = options.readAheadBytes ?? 4 * 1024 ** 3;
  const spillDir = await mkdtemp(join(options.spillDir, 'load-'));
  const splitter = new DumpSplitter();
  const main = new SqlSession(instance);
  const sessions: SqlSession[] = [main];
  const idle: SqlSession[] = [];
  const queue: Job[] = [];
  const jobs = new Map<number, Job>();
  const deferred: { id: number; sql: Buffer }[] = [];
  let pending = 0;
  let bytes = 0;
  let failure: unknown;
  const settled = new EventEmitter();

  const fail = (error: unknown): void => {
    failure ??= error;
    for (const session of sessions) session.kill();
    settled.emit('settled');
  };

  const run = async (session: SqlSession, job: Job): Promise<void> => {
    try {
      await job.ready;
      await session.write(job.use);
      for await (const sql of job.spool.read()) await session.write(sql);
      await session.sync();
      job.resolve();
    } catch (error) {
      job.reject(error);
      fail(error);
      return;
    } finally {
      pending -= job.spool.bytes;
      await job.spool.remove();
      settled.emit('settled');
    }
    idle.push(session);
    pump();
  };

  const pump = (): void => {
    while (queue.length > 0 && failure === undefined) {
      let session = idle.pop();
      if (!session && sessions.length - 1 < parallel) {
        session = new SqlSession(instance);
        sessions.push(session);
        // The dump's own session settings first (its header is read by the time rows come).
        void session.write(Buffer.concat([splitter.preamble, Buffer.from(UNLOGGED)])).catch(fail);
      }
      if (!session) return;
      void run(session, queue.shift() as Job);
    }
  };

  const until = async (condition: () => boolean): Promise<void> => {
    while (!condition() && failure === undefined) await once(settled, 'settled');
    if (failure !== undefined) throw failure;
  };

  try {
    await main.write(UNLOGGED);
    const route = async (pieces: ReturnType<DumpSplitter['push']>): Promise<void> => {
      for (const piece of pieces) {
        if (failure !== undefined) throw failure;
        switch (piece.kind) {
          case 'main':
            await main.write(piece.sql);
            break;
          case 'table': {
            let resolve: () => void = () => undefined;
            let reject: (e: unknown) => void = () => undefined;
            const done = new Promise<void>((res, rej) => {
              resolve = res;
              reject = rej;
            });
            done.catch(() => undefined);
            const ready = main.sync();
            ready.catch(fail);
            const job: Job = { id: piece.id, use: piece.use, spool: await Spool.create(join(spillDir, `${piece.id}.sql`)), ready, done, resolve, reject };
            jobs.set(piece.id, job);
            queue.push(job);
            pump();
            break;
          }
          case 'rows': {
            const job = jobs.get(piece.id);
            await until(() => pending < readAhead);
            pending += piece.sql.length;
            await job?.spool.append(piece.sql);
            break;
          }
          case 'rows-end':
            jobs.get(piece.id)?.spool.finish();
            break;
          case 'wait':
            await jobs.get(piece.id)?.done;
            break;
          case 'deferred':
            deferred.push({ id: piece.id, sql: piece.sql });
            break;
        }
      }
    };
    for await (const chunk of source) {
      bytes += chunk.length;
      options.onProgress?.(bytes);
      await route(splitter.push(chunk));
    }
    await route(splitter.end());
    await Promise.all([...jobs.values()].map((job) => job.done));
    // Triggers last: the rows went in without firing them, as in the dump's own order.
    let use: Buffer | undefined;
    for (const { id, sql } of deferred) {
      const tableUse = jobs.get(id)?.use;
      if (tableUse && !tableUse.equals(use ?? Buffer.alloc(0))) await main.write(tableUse);
      use = tableUse;
      await main.write(sql);
    }
    if (options.finally) await main.write(options.finally);
    await Promise.all(sessions.map((session) => session.end()));
    if (failure !== undefined) throw failure;
    return { bytes, tables: jobs.size, parallel: sessions.length - 1 };
  } catch (error) {
    fail(error);
    throw failure;
  } finally {
    for (const session of sessions) session.kill();
    await rm(spillDir, { recursive: true, force: true });
  }
};

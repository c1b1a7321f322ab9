import type { BinlogSummary, DumpSummary } from '../../core/catalog/model.js';
import { parseObjectKey, recordKeyOf } from '../../core/layout.js';
import type { ObjectStore } from '../../core/ports.js';
import type { ObjectRecord } from '../../core/records.js';

const iso = (s: number): string => new Date(s * 1000).toISOString().replace('.000Z', 'Z');
export const T0 = Date.parse('2026-11-01T00:00:00Z') / 1000;

/**
 * Synthetic MariaDB binlog summaries: `count` files of `span` seconds each from `start`, GTIDs
 * 0-1-N continuing from file to file, each rotating to the next.
 */
export const binlogSeries = (options: { count: number; from?: number; start?: number; span?: number; base?: string; serverId?: number; seq0?: number }): BinlogSummary[] => {
  const { count, from = 1, start = T0, span = 60, base = 'binlog', serverId = 1, seq0 = 0 } = options;
  const files: BinlogSummary[] = [];
  for (let i = 0; i < count; i++) {
    const n = from + i;
    const name = `${base}.${String(n).padStart(6, '0')}`;
    const first = start + i * span;
    const day = iso(first).slice(0, 10);
    files.push({
      key: `mysql/db1/binlogs/${day}/${name}.gz`,
      day,
      name,
      status: 'ok',
      reasons: [],
      serverIds: [serverId],
      flavor: 'mariadb',
      firstEventTime: iso(first),
      lastEventTime: iso(first + span),
      end: 'rotate',
      rotateTo: `${base}.${String(n + 1).padStart(6, '0')}`,
      gtids: `0-${serverId}-${seq0 + (i + 1) * 10}`,
      previousGtids: i === 0 && seq0 === 0 ? '' : `0-${serverId}-${seq0 + i * 10}`,
      verifiedAt: iso(first + span + 5),
    });
  }
  return files;
};

export const dumpAt = (completed: number, binlogFile: string, key = `mysql/db1/dumps/${iso(completed).slice(0, 10)}/db1-${completed}.sql.gz`): DumpSummary => ({
  key,
  day: iso(completed).slice(0, 10),
  status: 'ok',
  reasons: [],
  completedAt: iso(completed),
  binlogFile,
  binlogPosition: 1234,
  databases: ['shop'],
  verifiedAt: iso(completed + 10),
});

export const at = iso;

/** The verification record a summary was made from (what the verify function writes). */
export const recordOf = (summary: BinlogSummary | DumpSummary): ObjectRecord => {
  const base = {
    recordVersion: 1 as const,
    key: summary.key,
    host: 'db1',
    day: summary.day,
    name: summary.key.split('/').pop() ?? '',
    status: summary.status,
    reasons: summary.reasons,
    size: 1000,
    rawSize: 3000,
    sha256: 'x',
    gzip: { ok: true, sealed: true },
    verifiedAt: summary.verifiedAt,
    verifierVersion: 'test',
  };
  if ('serverIds' in summary) {
    return {
      ...base,
      kind: 'binlog',
      metadata: { 'server-id': String(summary.serverIds[0] ?? 1) },
      binlog: {
        flavor: summary.flavor ?? 'mariadb',
        serverIds: summary.serverIds,
        firstEventTime: summary.firstEventTime,
        lastEventTime: summary.lastEventTime,
        end: summary.end ?? 'rotate',
        rotateTo: summary.rotateTo,
        gtids: summary.gtids,
        previousGtids: summary.previousGtids,
      } as ObjectRecord['binlog'],
    };
  }
  return {
    ...base,
    kind: 'dump',
    metadata: {},
    dump: {
      completedAt: summary.completedAt?.replace('T', ' ').replace('Z', ''),
      binlogFile: summary.binlogFile,
      binlogPosition: summary.binlogPosition,
      gtids: summary.gtids,
      databases: summary.databases,
      complete: true,
    } as unknown as ObjectRecord['dump'],
  };
};

/** Puts shipped objects (of `size` bytes) and their records into a store, as the shipper and the verify function would. */
export const putShipped = async (store: ObjectStore, summaries: (BinlogSummary | DumpSummary)[], size = 1000): Promise<void> => {
  for (const s of summaries) {
    const ref = parseObjectKey(s.key);
    if (!ref) throw new Error(`not an object key: ${s.key}`);
    await store.put(s.key, Buffer.alloc(size));
    await store.put(recordKeyOf(ref), JSON.stringify(recordOf(s)));
  }
};

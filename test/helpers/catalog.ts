import type { BinlogSummary, DumpSummary } from '../../core/catalog/model.js';

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

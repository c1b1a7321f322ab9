import { describe, expect, it } from 'vitest';
import type { Catalog, DumpSummary, Link } from '../../../../core/catalog/model.js';
import { compareSnapshots, drillWindows } from '../../../../core/restore/drill.js';

const link = (n: number, at: string, extra: Partial<Link> = {}): Link => ({
  name: `binlog.00000${n}`,
  key: `db1/binlogs/2026-12-01/binlog.00000${n}.gz`,
  status: 'ok',
  lineage: 0,
  firstEventTime: at,
  lastEventTime: at,
  ...extra,
});
const dump = (name: string, completedAt: string, binlogFile: string, binlogPosition: number, extra: Partial<DumpSummary> = {}): DumpSummary => ({
  key: `db1/dumps/2026-12-01/${name}`,
  day: '2026-12-01',
  status: 'ok',
  reasons: [],
  completedAt,
  binlogFile,
  binlogPosition,
  gtids: '0-1-10',
  databases: ['shop'],
  verifiedAt: completedAt,
  ...extra,
});
const catalog = (chain: Link[]): Catalog => ({
  host: 'db1',
  chain,
  gaps: [],
  windows: [],
  earliestRestorableTime: null,
  latestRestorableTime: null,
  lagSeconds: null,
  lastDump: null,
  lastBinlog: null,
  failedObjects: [],
  builtAt: '2026-12-01T12:00:00Z',
});

describe('drillWindows: the windows between consecutive verified dumps, newest first', () => {
  const chain = [link(1, '2026-12-01T00:00:00Z'), link(2, '2026-12-01T01:00:00Z'), link(3, '2026-12-01T02:00:00Z')];
  const a = dump('a.sql.gz', '2026-12-01T00:30:00Z', 'binlog.000001', 500);
  const b = dump('b.sql.gz', '2026-12-01T01:30:00Z', 'binlog.000002', 900);
  const c = dump('c.sql.gz', '2026-12-01T03:30:00Z', 'binlog.000004', 4);

  it('plans the earlier dump and the binlogs up to the later dump’s exact coordinates', () => {
    const [newest, older] = drillWindows(catalog(chain), [], [c, a, b]);

    expect(newest?.refused).toBe('the binlogs up to binlog.000004 (the dump db1/dumps/2026-12-01/c.sql.gz) are not all shipped yet');
    expect(older?.plan).toMatchObject({
      dump: { key: a.key, binlogFile: 'binlog.000001', binlogPosition: 500 },
      startPosition: 500,
      binlogs: [{ name: 'binlog.000001' }, { name: 'binlog.000002' }],
      stop: { binlogFile: 'binlog.000002', position: 900 },
    });
  });

  it('refuses a window with a corrupt binlog or a RESET MASTER in it; a failed dump is no end of a window', () => {
    const corrupt = drillWindows(catalog([chain[0] as Link, link(2, '2026-12-01T01:00:00Z', { status: 'corrupt' }), chain[2] as Link]), [], [a, b]);
    expect(corrupt[0]?.refused).toMatch(/^the chain is broken at binlog\.000002/);
    const reset = drillWindows(catalog([chain[0] as Link, link(2, '2026-12-01T01:00:00Z', { lineage: 1 })]), [], [a, b]);
    expect(reset[0]?.refused).toMatch(/RESET MASTER/);
    expect(drillWindows(catalog(chain), [], [a, { ...b, status: 'failed' }])).toEqual([]);
  });
});

describe('compareSnapshots: what differs between the restore and the later dump', () => {
  const table = (checksum: string, rows = 3, columns = 'id int NO NULL') => ({ checksum, rows, columns, primaryKey: true });

  it('names each table and definition that differs, and nothing when all are equal', () => {
    const restored = { tables: { 'shop.a': table('1'), 'shop.b': table('2'), 'shop.c': table('3', 3, 'id bigint NO NULL') }, definitions: { 'trigger shop.t': 'x', 'view shop.v': 'y' } };
    const dumped = { tables: { 'shop.a': table('1'), 'shop.b': table('9', 4), 'shop.c': table('3'), 'shop.d': table('4') }, definitions: { 'trigger shop.t': 'x', 'view shop.v': 'z' } };

    expect(compareSnapshots(restored, restored)).toEqual([]);
    expect(compareSnapshots(restored, dumped)).toEqual([
      { kind: 'table', name: 'shop.b', message: 'shop.b differs: 3 rows, checksum 2 restored; 4 rows, checksum 9 in the later dump' },
      { kind: 'table', name: 'shop.c', message: 'shop.c has other columns in the restore than in the later dump' },
      { kind: 'table', name: 'shop.d', message: 'shop.d is in the later dump but not in the restore' },
      { kind: 'definition', name: 'view shop.v', message: 'view shop.v is defined otherwise in the restore than in the later dump' },
    ]);
  });
});

import { describe, expect, it } from 'vitest';
import { EventType } from '../../../../core/binlog/events.js';
import type { EventInfo } from '../../../../core/binlog/verify.js';
import type { RestorePlan } from '../../../../core/restore/plan.js';
import { ReachTracker } from '../../../../core/restore/reach.js';

/** Builds a file's events: each item is [type, timestamp, size, gtid?], placed one after another from position 4. */
const file = (...items: [number, number, number, string?][]): EventInfo[] => {
  let position = 4;
  return items.map(([type, timestamp, size, gtid]) => {
    const e: EventInfo = { position, type, name: String(type), timestamp, serverId: 1, size, logPos: position + size, ...(gtid ? { gtid } : {}) };
    position += size;
    return e;
  });
};

const T = 1_800_000_000;
const { FORMAT_DESCRIPTION: FDE, MARIADB_GTID_LIST: LIST, MARIADB_GTID: GTID, QUERY, XID, ROTATE } = EventType;
const WRITE_ROWS = 30;
/** A transaction: its GTID, BEGIN, rows, the commit (XID). */
const tx = (at: number, gtid: string): [number, number, number, string?][] => [
  [GTID, at, 100, gtid],
  [QUERY, at, 100],
  [WRITE_ROWS, at, 100],
  [XID, at, 100],
];

// binlog.000001: two transactions before the dump's coordinates, two after; binlog.000002: three.
const one = file([FDE, T, 100], [LIST, T, 50], ...tx(T + 1, '0-1-1'), ...tx(T + 2, '0-1-2'), ...tx(T + 3, '0-1-3'), ...tx(T + 4, '0-1-4'), [ROTATE, T + 5, 40]);
const two = file([FDE, T + 5, 100], [LIST, T + 5, 50], ...tx(T + 6, '0-1-5'), ...tx(T + 8, '0-1-6'), ...tx(T + 9, '0-1-7'), [ROTATE, T + 9, 40]);
const dumpAt = (one[2 + 2 * 4] as EventInfo).position; // the first event of 0-1-3: the dump holds 0-1-1 and 0-1-2

const plan = (stop: RestorePlan['stop']): Pick<RestorePlan, 'startPosition' | 'stop' | 'dump' | 'binlogs'> => ({
  startPosition: dumpAt,
  stop,
  dump: { key: 'k', completedAt: '', binlogFile: 'binlog.000001', binlogPosition: dumpAt, gtids: '0-1-2' },
  binlogs: [
    { name: 'binlog.000001', key: 'a' },
    { name: 'binlog.000002', key: 'b' },
  ],
});

const track = (p: ReturnType<typeof plan>, files: EventInfo[][]) => {
  const tracker = new ReachTracker(p);
  for (const events of files) {
    tracker.nextFile();
    for (const e of events) tracker.event(e);
  }
  return tracker.finish();
};

const iso = (s: number): string => new Date(s * 1000).toISOString().replace('.000Z', 'Z');

describe('ReachTracker: where a replay to the target stops, and what it will have applied', () => {
  it('stops before the first transaction with an event at or after the stop second, in the next file', () => {
    const reach = track(plan({ datetime: iso(T + 8) }), [one, two]);
    const excluded = two.find((e) => e.gtid === '0-1-6') as EventInfo;

    expect(reach.until).toEqual({ file: 1, position: excluded.position });
    expect(reach.expected).toMatchObject({ gtids: '0-1-5', transactions: 3, time: iso(T + 6), binlogFile: 'binlog.000002' });
    expect(reach.empty).toBe(false);
  });

  it('stops at a MariaDB GTID target (inclusive), whatever the times', () => {
    const reach = track(plan({ gtid: '0-1-4' }), [one, two]);
    const excluded = two.find((e) => e.gtid === '0-1-5') as EventInfo;
    expect(reach.until).toEqual({ file: 1, position: excluded.position });
    expect(reach.expected.gtids).toBe('0-1-4');
  });

  it('applies everything when the target is after the last event: up to the end of the last transaction', () => {
    const reach = track(plan({ datetime: iso(T + 60) }), [one, two]);
    const rotate = two.at(-1) as EventInfo;
    expect(reach.until).toEqual({ file: 1, position: rotate.position });
    expect(reach.expected).toMatchObject({ gtids: '0-1-7', transactions: 5 });
  });

  it('leaves out a last transaction the files hold only in part (a binlog cut by a crash)', () => {
    const cut = two.slice(0, -2);
    const reach = track(plan({ datetime: iso(T + 60) }), [one, cut]);
    const partial = two.find((e) => e.gtid === '0-1-7') as EventInfo;
    expect(reach.until).toEqual({ file: 1, position: partial.position });
    expect(reach.expected.gtids).toBe('0-1-6');
  });

  it('applies nothing when the target is the dump’s own second: the GTID position is the dump’s', () => {
    const reach = track(plan({ datetime: iso(T + 3) }), [one, two]);
    expect(reach.until).toEqual({ file: 0, position: dumpAt });
    expect(reach.empty).toBe(true);
    expect(reach.expected.gtids).toBe('0-1-2');
  });

  it('follows MySQL GTIDs as a set, from the dump’s', () => {
    const uuid = '3e11fa47-71ca-11e1-9e33-c80aa9429562';
    const mysql = file([FDE, T, 100], [EventType.PREVIOUS_GTIDS, T, 50], [EventType.GTID, T + 1, 60, `${uuid}:6`], [QUERY, T + 1, 80], [XID, T + 1, 30], [EventType.GTID, T + 2, 60, `${uuid}:7`], [QUERY, T + 2, 80], [XID, T + 2, 30], [ROTATE, T + 3, 40]);
    const p = { ...plan({ datetime: iso(T + 2) }), startPosition: 154, dump: { ...plan({ datetime: '' }).dump, gtids: `${uuid}:1-5` } };
    const reach = track(p, [mysql]);
    expect(reach.expected.gtids).toBe(`${uuid}:1-6`);
  });

  it('stops at a position (another dump’s coordinates): every transaction that ended before it, none after, whatever the times', () => {
    const at = two.find((e) => e.gtid === '0-1-6') as EventInfo;
    const reach = track(plan({ binlogFile: 'binlog.000002', position: at.position }), [one, two]);

    expect(reach.until).toEqual({ file: 1, position: at.position });
    expect(reach.expected).toMatchObject({ gtids: '0-1-5', transactions: 3 });
  });

  it('a position at the very end of the last file applies its last transaction', () => {
    const cut = two.slice(0, -1);
    const last = cut.at(-1) as EventInfo;
    const reach = track(plan({ binlogFile: 'binlog.000002', position: last.position + last.size }), [one, cut]);

    expect(reach.expected).toMatchObject({ gtids: '0-1-7', transactions: 5 });
  });
});

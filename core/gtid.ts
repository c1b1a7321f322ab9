/**
 * GTID sets of both families, in each server's own text form.
 *
 * MySQL: `uuid:1-5:7,uuid2:1-3` (and 8.4+ tags: `uuid:1-13:mytag:1-2`), a set of intervals per
 * source UUID and tag. MariaDB: `domain-server-seq` triples, one per domain and server, as
 * `@@gtid_binlog_pos` and GTID_LIST events write them.
 */

/** Inclusive interval of transaction numbers. */
export type Interval = [number, number];

/** A MySQL GTID set: intervals per `uuid` or `uuid:tag`. */
export class MysqlGtidSet {
  private readonly sets = new Map<string, Interval[]>();

  public static parse(text: string): MysqlGtidSet {
    const set = new MysqlGtidSet();
    for (const part of text.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
      const [uuid = '', ...rest] = part.split(':');
      let tag = '';
      for (const item of rest) {
        const match = /^(\d+)(?:-(\d+))?$/.exec(item);
        if (match) set.addInterval(uuid, tag, Number(match[1]), Number(match[2] ?? match[1]));
        else tag = item.toLowerCase();
      }
    }
    return set;
  }

  public add(uuid: string, tag: string, gno: number): void {
    this.addInterval(uuid, tag, gno, gno);
  }

  public addInterval(uuid: string, tag: string, start: number, end: number): void {
    const key = tag === '' ? uuid.toLowerCase() : `${uuid.toLowerCase()}:${tag}`;
    const list = this.sets.get(key) ?? [];
    list.push([start, end]);
    list.sort((a, b) => a[0] - b[0]);
    const merged: Interval[] = [];
    for (const interval of list) {
      const last = merged[merged.length - 1];
      if (last && interval[0] <= last[1] + 1) last[1] = Math.max(last[1], interval[1]);
      else merged.push([interval[0], interval[1]]);
    }
    this.sets.set(key, merged);
  }

  public union(other: MysqlGtidSet): MysqlGtidSet {
    const result = MysqlGtidSet.parse(this.toString());
    for (const [key, intervals] of other.sets) {
      const [uuid = '', tag = ''] = key.split(':');
      for (const [s, e] of intervals) result.addInterval(uuid, tag, s, e);
    }
    return result;
  }

  /** Whether every GTID of `other` is in this set. */
  public contains(other: MysqlGtidSet): boolean {
    for (const [key, intervals] of other.sets) {
      const mine = this.sets.get(key) ?? [];
      for (const [s, e] of intervals) if (!mine.some(([ms, me]) => ms <= s && e <= me)) return false;
    }
    return true;
  }

  public get isEmpty(): boolean {
    return this.sets.size === 0;
  }

  public equals(other: MysqlGtidSet): boolean {
    return this.toString() === other.toString();
  }

  /** MySQL's text form: UUIDs in order, untagged intervals first, then each tag in order. */
  public toString(): string {
    const byUuid = new Map<string, { tag: string; intervals: Interval[] }[]>();
    for (const [key, intervals] of this.sets) {
      const [uuid = '', tag = ''] = key.split(':');
      const entries = byUuid.get(uuid) ?? [];
      entries.push({ tag, intervals });
      byUuid.set(uuid, entries);
    }
    const text = (intervals: Interval[]): string => intervals.map(([s, e]) => (s === e ? `${s}` : `${s}-${e}`)).join(':');
    return [...byUuid.keys()]
      .sort()
      .map((uuid) => {
        const entries = (byUuid.get(uuid) ?? []).sort((a, b) => (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0));
        return [uuid, ...entries.map((e) => (e.tag === '' ? text(e.intervals) : `${e.tag}:${text(e.intervals)}`))].join(':');
      })
      .join(',');
  }
}

/** One MariaDB GTID: `domain-server-seq`. */
export interface MariadbGtid {
  domain: number;
  serverId: number;
  seq: number;
}

export const formatMariadbGtid = (g: MariadbGtid): string => `${g.domain}-${g.serverId}-${g.seq}`;

export const parseMariadbGtids = (text: string): MariadbGtid[] =>
  text
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '')
    .map((p) => {
      const [domain, serverId, seq] = p.split('-').map(Number);
      return { domain: domain ?? 0, serverId: serverId ?? 0, seq: seq ?? 0 };
    });

/**
 * A MariaDB GTID position: the last GTID of each (domain, server), the form of
 * `@@gtid_binlog_state` and of GTID_LIST events.
 */
export class MariadbGtidState {
  private readonly last = new Map<string, MariadbGtid>();

  public add(g: MariadbGtid): void {
    const key = `${g.domain}-${g.serverId}`;
    const prev = this.last.get(key);
    if (!prev || g.seq > prev.seq) this.last.set(key, { ...g });
  }

  public get isEmpty(): boolean {
    return this.last.size === 0;
  }

  public entries(): MariadbGtid[] {
    return [...this.last.values()].sort((a, b) => a.domain - b.domain || a.serverId - b.serverId);
  }

  public toString(): string {
    return this.entries().map(formatMariadbGtid).join(',');
  }
}

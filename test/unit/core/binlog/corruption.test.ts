import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decode, fieldKinds, FieldKinds, type FieldKind } from '../../../helpers/binlog-fields.js';
import { eventsOf, hasChecksums, verifyBinlog } from '../../../helpers/binlog.js';
import { REAL_BINLOGS } from '../../../helpers/fixtures.js';

/**
 * A corruption corpus: random byte changes inside the event bodies of the real binlogs that carry
 * no checksum (MySQL 5.0, 5.1, 5.5; MySQL 5.7 and MariaDB 10.0 with binlog_checksum=NONE), where
 * only the structure of what is read can tell damage. Each change is scored against an
 * independent map of what the byte is (test/helpers/binlog-fields.ts): every change to a length
 * or count must be caught; the share caught overall, and per kind of byte, is reported.
 */
const FILES = [
  'mysql50-stmt-nochecksum-rotate.000001',
  'mysql51-mixed-nochecksum-loaddata-stop.001',
  'mysql55-row-nochecksum-inuse-sakila.000001',
  'mysql57-row-nochecksum-stop.000001',
  'mariadb100-gtid-row-nochecksum-inuse.000007',
];

/** Byte changes per file: uniform over the event bodies, then more on lengths and structure. */
const UNIFORM = 400;
const PER_KIND: Partial<Record<FieldKind, number>> = { length: 400, structure: 200, 'unused-length': 40 };

/** A small seeded generator (mulberry32): the corpus is the same on every run. */
const random = (seed: number): (() => number) => {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
};

interface Hit {
  file: string;
  offset: number;
  kind: FieldKind;
  from: number;
  to: number;
  detected: boolean;
  /** An undetected change that left its event well-formed by an independent reading of the layouts. */
  stillWellFormed?: boolean;
}

const pick = <T,>(items: T[], n: number, next: () => number): T[] => {
  if (items.length <= n) return items;
  const chosen = new Set<number>();
  while (chosen.size < n) chosen.add(Math.floor(next() * items.length));
  return [...chosen].map((i) => items[i] as T);
};

const corpus = (): { uniform: Hit[]; targeted: Hit[] } => {
  const uniform: Hit[] = [];
  const targeted: Hit[] = [];
  FILES.forEach((file, f) => {
    const bytes = readFileSync(`${REAL_BINLOGS}${file}`);
    const kinds = fieldKinds(bytes);
    const events = eventsOf(bytes);
    const next = random(20 + f);
    const change = (offset: number, into: Hit[]): void => {
      const from = bytes[offset] ?? 0;
      const to = (from + 1 + Math.floor(next() * 255)) & 0xff;
      const damaged = Buffer.from(bytes);
      damaged[offset] = to;
      const facts = verifyBinlog(damaged);
      // Whatever the damage, a verdict: never an exception, every reason one line.
      for (const reason of facts.problems) expect(reason, `${file} @${offset}`).not.toMatch(/\n/);
      const detected = facts.problems.length > 0;
      const hit: Hit = { file, offset, kind: kinds[offset] as FieldKind, from, to, detected };
      if (!detected && hit.kind === 'length') {
        const event = events.find((e) => e.position <= offset && offset < e.position + e.size);
        hit.stillWellFormed = event !== undefined && !decode(damaged).malformed.has(event.position);
      }
      into.push(hit);
    };
    const body = kinds.flatMap((kind, offset) => (kind === 'header' ? [] : [offset]));
    for (const offset of pick(body, UNIFORM, next)) change(offset, uniform);
    for (const [kind, n] of Object.entries(PER_KIND)) {
      const offsets = kinds.flatMap((k, offset) => (k === kind ? [offset] : []));
      for (const offset of pick(offsets, n, next)) change(offset, targeted);
    }
  });
  return { uniform, targeted };
};

const share = (hits: Hit[]): string => {
  const detected = hits.filter((h) => h.detected).length;
  return `${detected}/${hits.length} (${hits.length ? ((100 * detected) / hits.length).toFixed(1) : '–'}%)`;
};

describe('BinlogVerifier on a corruption corpus of binlogs without checksums', () => {
  it('catches every change to a length or count, and reports the share caught per kind of byte', () => {
    expect(FILES.every((file) => !hasChecksums(readFileSync(`${REAL_BINLOGS}${file}`)))).toBe(true);
    const { uniform, targeted } = corpus();
    const all = [...uniform, ...targeted];

    const lines = [
      `corruption corpus: ${FILES.length} binlogs without checksums, one random byte changed per case`,
      `  uniform over event bodies: ${share(uniform)} detected`,
      ...FIELD_ORDER.map((kind) => `  ${kind.padEnd(14)} ${share(all.filter((h) => h.kind === kind))}`),
      ...FILES.map((file) => `  ${file.padEnd(46)} uniform ${share(uniform.filter((h) => h.file === file))}`),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);

    // A length changed so that the event still decodes to exactly its end (a value swallowing the
    // rest of its row and the next ones, up to a value of the same type) is a different, well-formed
    // event: no structure check can tell, and an independent decoder agrees. Every other is caught.
    const missedLengths = all.filter((h) => h.kind === 'length' && !h.detected);
    expect(missedLengths.filter((h) => !h.stillWellFormed).map((h) => `${h.file} @${h.offset}: ${h.from} -> ${h.to}`)).toEqual([]);
    process.stdout.write(
      `  length changes missed, each leaving a well-formed event: ${missedLengths.map((h) => `${h.file} @${h.offset} ${h.from}->${h.to}`).join('; ') || 'none'}\n`,
    );
    expect(all.filter((h) => h.kind === 'length').length).toBeGreaterThan(500);
    // What the checks catch beyond the lengths, as measured when they were written: a floor, so
    // a check that stops working shows.
    expect(all.filter((h) => h.kind === 'structure' && h.detected).length / all.filter((h) => h.kind === 'structure').length).toBeGreaterThan(STRUCTURE_FLOOR);
    expect(uniform.filter((h) => h.detected).length / uniform.length).toBeGreaterThan(UNIFORM_FLOOR);
  });
});

const FIELD_ORDER = FieldKinds.filter((k) => k !== 'header');
/** Measured on this corpus when the checks were written: 494/778 and 282/2000. */
const STRUCTURE_FLOOR = 0.6;
const UNIFORM_FLOOR = 0.13;

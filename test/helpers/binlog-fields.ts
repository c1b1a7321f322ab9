import { eventsOf } from './binlog.js';

/**
 * What each byte of a binlog is, from the layouts the servers document — written apart from the
 * verifier, as the map a corruption test scores it against:
 *
 * - `length`: a length or count that says how much of the event follows (a QUERY's database-name
 *   and status-variable lengths, a TABLE_MAP's name lengths, column count and metadata length, a
 *   rows event's column count and each value's length prefix, a USER_VAR's name and value
 *   lengths, a GTID list's count, an FDE's post-header lengths of the types the file holds, …);
 * - `unused-length`: an FDE's post-header length of an event type the file does not hold: it
 *   measures nothing that is there;
 * - `structure`: codes, types, bitmaps, flags and ids that choose a layout or a table (status
 *   variable codes, column types and metadata, NULL bitmaps, table ids, NULs that end names);
 * - `data`: values, names, text, timestamps, positions;
 * - `checksum`: a CRC32 trailer;
 * - `header`: the magic and the 19-byte event headers, which the event walk checks already.
 */
export const FieldKinds = ['length', 'unused-length', 'structure', 'data', 'checksum', 'header'] as const;
export type FieldKind = (typeof FieldKinds)[number];

const K: Record<FieldKind, number> = { length: 0, 'unused-length': 1, structure: 2, data: 3, checksum: 4, header: 5 };

/** Column types by the bytes of TABLE_MAP metadata they carry and how their row values are laid out. */
const columnMeta = (type: number): number =>
  [249, 250, 251, 252, 141, 5, 4, 255, 245, 242, 19, 18, 17].includes(type) ? 1 : [247, 248, 254, 16, 15, 140, 246].includes(type) ? 2 : 0;

/** Row value layout: n ≥ 0 a fixed size, −n an n-byte length prefix. */
const valueLayout = (type: number, m0: number, m1: number): number => {
  switch (type) {
    case 1:
    case 13:
      return 1;
    case 2:
      return 2;
    case 9:
    case 10:
    case 14:
    case 11:
      return 3;
    case 3:
    case 7:
      return 4;
    case 8:
    case 12:
      return 8;
    case 4:
    case 5:
      return m0;
    case 17:
      return 4 + Math.floor((m0 + 1) / 2);
    case 18:
      return 5 + Math.floor((m0 + 1) / 2);
    case 19:
      return 3 + Math.floor((m0 + 1) / 2);
    case 246: {
      const dig = [0, 1, 1, 2, 2, 3, 3, 4, 4, 4];
      const intg = m0 - m1;
      return Math.floor(intg / 9) * 4 + (dig[intg % 9] ?? 0) + Math.floor(m1 / 9) * 4 + (dig[m1 % 9] ?? 0);
    }
    case 16:
      return m1 + (m0 > 0 ? 1 : 0);
    case 15:
    case 140:
      return (m0 | (m1 << 8)) > 255 ? -2 : -1;
    case 247:
    case 248:
    case 254:
      if (m0 === 247 || m0 === 248) return m1;
      return (((m0 & 0x30) ^ 0x30) << 4) + m1 > 255 ? -2 : -1;
    default:
      return -m0; // BLOB, JSON, GEOMETRY: the metadata is the length prefix's size
  }
};

const packedWidth = (first: number): number => (first < 251 ? 1 : first === 252 ? 3 : first === 253 ? 4 : 9);
const packedValue = (b: Buffer, p: number): number => {
  const w = packedWidth(b[p] ?? 0);
  return w === 1 ? (b[p] ?? 0) : w === 9 ? Number(b.readBigUInt64LE(p + 1)) : b.readUIntLE(p + 1, w - 1);
};

/** The kind of every byte of a sound binlog (see FieldKind). */
export const fieldKinds = (bytes: Buffer): FieldKind[] => decode(bytes).kinds;

/**
 * Reads a binlog by the layouts: the kind of every byte, and the events whose QUERY status block,
 * TABLE_MAP or rows do not decode to exactly where the event ends (a row running past it, NULL
 * bitmap padding neither all ones nor all zeros, a VARCHAR or CHAR longer than its column, a
 * database name without its NUL). A damaged event missing from `malformed` is one that still reads
 * as a well-formed event: no check of its structure could tell.
 */
export const decode = (bytes: Buffer): { kinds: FieldKind[]; malformed: Set<number> } => {
  const malformed = new Set<number>();
  const kinds = new Uint8Array(bytes.length).fill(K.data);
  const mark = (from: number, to: number, kind: FieldKind): void => {
    kinds.fill(K[kind], from, Math.min(to, bytes.length));
  };
  mark(0, 4, 'header');
  const events = eventsOf(bytes);
  const present = new Set(events.map((e) => e.type));
  const tables = new Map<number, { types: number[]; layouts: number[]; maxima: number[] }>();
  let post = Buffer.alloc(0);
  let crc = 0;
  for (const { position, type, size } of events) {
    mark(position, position + 19, 'header');
    const b = position + 19;
    const end = position + size - (type === 15 ? 0 : crc);
    if (crc && type !== 15) mark(end, end + crc, 'checksum');
    const ph = post[type - 1] ?? 0;
    switch (type) {
      case 15: {
        mark(b, b + 2, 'structure');
        mark(b + 56, b + 57, 'length');
        const version = bytes.subarray(b + 2, b + 52).toString('latin1');
        const capable = size >= 110 || /^(5\.[6-9]|[6-9]\.|\d\d\.)/.test(version) || /mariadb/i.test(version);
        const trailer = capable ? 5 : 0;
        post = Buffer.from(bytes.subarray(b + 57, position + size - trailer));
        for (let t = 1; t <= post.length; t++) mark(b + 57 + t - 1, b + 57 + t, present.has(t) || t === 15 ? 'length' : 'unused-length');
        if (capable) {
          mark(position + size - 5, position + size - 4, 'structure');
          mark(position + size - 4, position + size, 'checksum');
          crc = bytes[position + size - 5] === 1 ? 4 : 0;
        }
        break;
      }
      case 2:
      case 18: {
        mark(b + 8, b + 9, 'length');
        mark(b + 11, b + 13, 'length');
        if (type === 18) mark(b + 17, b + 26, 'structure');
        const status = b + ph;
        const dbStart = status + bytes.readUInt16LE(b + 11);
        for (let p = status; p < dbStart; ) {
          const code = bytes[p] ?? 0;
          mark(p, p + 1, 'structure');
          p++;
          const fixed: Record<number, number> = { 0: 4, 1: 8, 3: 4, 4: 6, 7: 2, 8: 2, 9: 8, 10: 4, 13: 3, 16: 1, 17: 8, 18: 2, 19: 1, 20: 1, 128: 3, 129: 8 };
          if (fixed[code] !== undefined) p += fixed[code];
          else if (code === 5 || code === 6 || code === 2) {
            mark(p, p + 1, 'length');
            p += 1 + (bytes[p] ?? 0) + (code === 2 ? 1 : 0);
          } else if (code === 11) {
            mark(p, p + 1, 'length');
            p += 1 + (bytes[p] ?? 0);
            mark(p, p + 1, 'length');
            p += 1 + (bytes[p] ?? 0);
          } else if (code === 12) {
            const count = bytes[p] ?? 0;
            mark(p, p + 1, 'length');
            p++;
            for (let k = 0; k < count && count !== 254; k++) {
              const nul = bytes.indexOf(0, p);
              mark(nul, nul + 1, 'structure');
              p = nul + 1;
            }
          } else break;
          if (p > dbStart) malformed.add(position);
        }
        const dbLength = bytes[b + 8] ?? 0;
        mark(dbStart + dbLength, dbStart + dbLength + 1, 'structure');
        if (dbStart + dbLength >= end || bytes[dbStart + dbLength] !== 0) malformed.add(position);
        break;
      }
      case 5:
        mark(b, b + 1, 'structure');
        break;
      case 14: {
        const nameLength = bytes.readUInt32LE(b);
        mark(b, b + 4, 'length');
        const at = b + 4 + nameLength;
        mark(at, at + 2, 'structure');
        if (bytes[at] === 0) mark(at + 6, at + 10, 'length');
        break;
      }
      case 19: {
        const idBytes = ph === 6 ? 4 : 6;
        const id = bytes.readUIntLE(b, idBytes);
        mark(b, b + idBytes, 'structure');
        let p = b + ph;
        for (let name = 0; name < 2; name++) {
          const length = bytes[p] ?? 0;
          mark(p, p + 1, 'length');
          mark(p + 1 + length, p + 2 + length, 'structure');
          p += 2 + length;
        }
        const columns = packedValue(bytes, p);
        mark(p, p + packedWidth(bytes[p] ?? 0), 'length');
        p += packedWidth(bytes[p] ?? 0);
        const types = [...bytes.subarray(p, p + columns)];
        mark(p, p + columns, 'structure');
        p += columns;
        const metaLength = packedValue(bytes, p);
        mark(p, p + packedWidth(bytes[p] ?? 0), 'length');
        p += packedWidth(bytes[p] ?? 0);
        mark(p, p + metaLength, 'structure');
        const metaStart = p;
        const maxima: number[] = [];
        const layouts = types.map((t) => {
          const n = columnMeta(t);
          const m0 = n > 0 ? (bytes[p] ?? 0) : 0;
          const m1 = n > 1 ? (bytes[p + 1] ?? 0) : 0;
          maxima.push(t === 15 ? m0 | (m1 << 8) : t === 254 && (m0 | 0x30) === 254 ? (((m0 & 0x30) ^ 0x30) << 4) + m1 : 0);
          p += n;
          return valueLayout(t, m0, m1);
        });
        if (p !== metaStart + metaLength) malformed.add(position);
        p += (columns + 7) >> 3;
        while (p < end) {
          mark(p, p + 1, 'structure');
          const length = packedValue(bytes, p + 1);
          mark(p + 1, p + 1 + packedWidth(bytes[p + 1] ?? 0), 'length');
          p += 1 + packedWidth(bytes[p + 1] ?? 0) + length;
        }
        if (p !== end) malformed.add(position);
        tables.set(id, { types, layouts, maxima });
        break;
      }
      case 23:
      case 24:
      case 25:
      case 30:
      case 31:
      case 32: {
        const idBytes = ph === 6 ? 4 : 6;
        const table = tables.get(bytes.readUIntLE(b, idBytes));
        mark(b, b + idBytes + 2, 'structure');
        let p = b + idBytes + 2;
        if (ph === 10) {
          mark(p, p + 2, 'length');
          p += bytes.readUInt16LE(p);
        }
        const width = packedValue(bytes, p);
        mark(p, p + packedWidth(bytes[p] ?? 0), 'length');
        p += packedWidth(bytes[p] ?? 0);
        const images = type === 24 || type === 31 ? 2 : 1;
        const bitmaps: Buffer[] = [];
        for (let i = 0; i < images; i++) {
          bitmaps.push(bytes.subarray(p, p + ((width + 7) >> 3)));
          mark(p, p + ((width + 7) >> 3), 'structure');
          p += (width + 7) >> 3;
        }
        if (!table) break;
        const present = bitmaps.map((bitmap) => table.layouts.flatMap((layout, c) => ((bitmap[c >> 3] ?? 0) & (1 << (c & 7)) ? [[layout, table.maxima[c] ?? 0] as const] : [])));
        while (p < end) {
          for (const cols of present) {
            const nulls = p;
            mark(p, p + ((cols.length + 7) >> 3), 'structure');
            p += (cols.length + 7) >> 3;
            if (cols.length & 7) {
              const padding = 0xff & ~((1 << (cols.length & 7)) - 1);
              const bits = (bytes[p - 1] ?? 0) & padding;
              if (bits !== 0 && bits !== padding) malformed.add(position);
            }
            cols.forEach(([layout, max], k) => {
              if ((bytes[nulls + (k >> 3)] ?? 0) & (1 << (k & 7))) return;
              if (layout >= 0) p += layout;
              else {
                mark(p, p - layout, 'length');
                const length = p - layout <= end ? bytes.readUIntLE(p, -layout) : 0;
                if (max > 0 && length > max) malformed.add(position);
                p += -layout + length;
              }
            });
          }
        }
        if (p !== end) malformed.add(position);
        break;
      }
      case 33:
      case 34: {
        mark(b + 25, b + 26, 'structure');
        if (size - 19 - crc > 42) {
          mark(b + 48, b + 49, 'structure');
          const p = b + 42 + ((bytes[b + 48] ?? 0) & 0x80 ? 14 : 7);
          mark(p, p + packedWidth(bytes[p] ?? 0), 'length');
        }
        break;
      }
      case 35: {
        mark(b, b + 8, 'length');
        let p = b + 8;
        for (let s = 0; s < Number(bytes.readBigUInt64LE(b)); s++) {
          mark(p + 16, p + 24, 'length');
          p += 24 + 16 * Number(bytes.readBigUInt64LE(p + 16));
        }
        break;
      }
      case 162:
        mark(b + 12, b + 13, 'structure');
        break;
      case 161:
      case 163:
        mark(b, b + 4, 'length');
        break;
      default:
        break;
    }
  }
  return { kinds: [...kinds].map((k) => FieldKinds[k] as FieldKind), malformed };
};

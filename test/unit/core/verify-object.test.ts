import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Alert } from '../../../core/ports.js';
import type { ObjectRecord } from '../../../core/records.js';
import { verifyObject } from '../../../core/verify-object.js';
import { sealedGzip } from '../../../shipper/lib/gzip.js';
import { REAL_BINLOGS } from '../../helpers/fixtures.js';
import { MemoryStore } from '../../helpers/memory-store.js';

const KEY = 'mysql/db1/binlogs/2026-11-20/binlog.000005.gz';
const RECORD = 'mysql/db1/records/2026-11-20/binlog.000005.gz.json';
const clock = { now: () => new Date('2026-11-20T15:00:00Z') };

/** A real binlog as the shipper stores it: sealed gzip, with the shipper's metadata. */
const shipped = async (store: MemoryStore, key = KEY): Promise<Buffer> => {
  const raw = await readFile(join(REAL_BINLOGS, 'mariadb118-gtid-stmt-crc32-rotate.000005'));
  const members: Buffer[] = [];
  for await (const m of sealedGzip((async function* () { yield raw; })())) members.push(m);
  const body = Buffer.concat(members);
  await store.put(key, body, { metadata: { sha256: createHash('sha256').update(raw).digest('hex'), 'raw-size': String(raw.length), kind: 'binlog', host: 'db1' } });
  return body;
};

describe('verifyObject, with the ObjectStore port in memory', () => {
  it('writes the immutable record, tags the object ok and alerts nobody', async () => {
    const store = new MemoryStore();
    const alerts: Alert[] = [];
    await shipped(store);

    const outcome = await verifyObject({ store, alerts: { publish: async (a) => void alerts.push(a) }, clock }, KEY);

    expect(outcome).toMatchObject({ outcome: 'verified', recordKey: RECORD, record: { status: 'ok', kind: 'binlog', sha256Match: true } });
    expect(store.json<ObjectRecord>(RECORD)).toMatchObject({ key: KEY, host: 'db1', day: '2026-11-20', status: 'ok', verifiedAt: '2026-11-20T15:00:00.000Z' });
    expect(store.tagsOf(KEY)).toEqual({ 'binvault-verified': 'ok' });
    expect(alerts).toEqual([]);
  });

  it('changes nothing on a duplicate event: the record stands, no second read of the object', async () => {
    const store = new MemoryStore();
    await shipped(store);
    const deps = { store, alerts: { publish: async () => undefined }, clock };
    await verifyObject(deps, KEY);
    const before = store.json(RECORD);
    const reads = store.requests.get;

    expect(await verifyObject(deps, KEY)).toEqual({ outcome: 'already-verified', key: KEY, recordKey: RECORD });
    expect(store.requests.get).toBe(reads);
    expect(store.json(RECORD)).toEqual(before);
  });

  it('records a corrupt object as failed, tags it failed and publishes verification-failed once', async () => {
    const store = new MemoryStore();
    const body = await shipped(store);
    const at = Math.floor(body.length / 2);
    body[at] = (body[at] ?? 0) ^ 0x10;
    await store.put(KEY, body, { metadata: (await store.head(KEY))?.metadata ?? {} });
    const alerts: Alert[] = [];

    const outcome = await verifyObject({ store, alerts: { publish: async (a) => void alerts.push(a) }, clock }, KEY);

    expect(outcome).toMatchObject({ outcome: 'verified', record: { status: 'failed' } });
    expect(store.tagsOf(KEY)).toEqual({ 'binvault-verified': 'failed' });
    expect(alerts.map((a) => [a.type, a.severity, a.key])).toEqual([['verification-failed', 'critical', KEY]]);
    expect(alerts[0]?.message).toContain('failed verification');
  });

  it('fails an object too large for the invocation with a record that says so, instead of timing out', async () => {
    const store = new MemoryStore();
    const body = await shipped(store);

    const outcome = await verifyObject({ store, alerts: { publish: async () => undefined }, clock }, KEY, { maxBytes: body.length - 1 });

    expect(outcome).toMatchObject({ outcome: 'verified', record: { status: 'failed' } });
    expect((outcome as { record: ObjectRecord }).record.reasons[0]).toMatch(/^too large to verify in one invocation/);
  });

  it('ignores keys outside the layout and objects already gone', async () => {
    const store = new MemoryStore();
    const deps = { store, alerts: { publish: async () => undefined }, clock };

    expect(await verifyObject(deps, 'mysql/db1/staging/db1-20261120T150000Z.sql.gz')).toMatchObject({ outcome: 'ignored' });
    expect(await verifyObject(deps, KEY)).toMatchObject({ outcome: 'ignored', why: 'the object no longer exists' });
    expect(store.keys()).toEqual([]);
  });
});

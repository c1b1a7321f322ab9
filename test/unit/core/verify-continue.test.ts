import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { Alert } from '../../../core/ports.js';
import type { ObjectRecord } from '../../../core/records.js';
import { CHECKPOINT_STALE_MS, verifyObject, type VerifyCheckpoint, type VerifyObjectOptions, type VerifyOutcome } from '../../../core/verify-object.js';
import { sealedGzip } from '../../../shipper/lib/gzip.js';
import { REAL_BINLOGS, REAL_DUMPS } from '../../helpers/fixtures.js';
import { MemoryStore } from '../../helpers/memory-store.js';

const BINLOG = 'mysql/db1/binlogs/2026-11-20/binlog.000007.gz';
const DUMP = 'mysql/db1/dumps/2026-11-20/db1-20261120T150000Z.sql.gz';
const checkpointOf = (key: string): string => key.replace(/\/(binlogs|dumps)\//, '/records/') + '.checkpoint';
const recordOf = (key: string): string => key.replace(/\/(binlogs|dumps)\//, '/records/') + '.json';

let now = new Date('2026-11-20T15:00:00Z');
const clock = { now: () => now };

/** Stored as the shipper stores it: sealed gzip in members of `memberBytes` raw bytes, with its metadata. */
const ship = async (store: MemoryStore, key: string, raw: Buffer, memberBytes: number, kind: 'binlog' | 'dump'): Promise<Buffer> => {
  const parts: Buffer[] = [];
  for await (const m of sealedGzip((async function* () { yield raw; })(), { memberBytes })) parts.push(m);
  const body = Buffer.concat(parts);
  await store.put(key, body, {
    metadata: { sha256: createHash('sha256').update(raw).digest('hex'), 'raw-size': String(raw.length), kind, host: 'db1', 'shipper-version': '0.1.0' },
  });
  return body;
};

let largeBinlog: Buffer | undefined;
/** A real MySQL 8.0 binlog (row events, CRC32), read once, stored as the shipper would in 64 KiB members. */
const shipLargeBinlog = async (store: MemoryStore): Promise<{ raw: Buffer; body: Buffer }> => {
  largeBinlog ??= await readFile(join(REAL_BINLOGS, 'mysql80-row-crc32-large-stop.000001'));
  const raw = Buffer.from(largeBinlog);
  return { raw, body: await ship(store, BINLOG, raw, 64 * 1024, 'binlog') };
};

const deps = (store: MemoryStore, alerts: Alert[] = []) => ({ store, alerts: { publish: async (a: Alert) => void alerts.push(a) }, clock });

/**
 * What the verify function and its continuations do, driven by a loop: an invocation that pauses
 * is followed by the continuation it would send.
 */
const verifyInSteps = async (store: MemoryStore, key: string, options: VerifyObjectOptions, alerts: Alert[] = []): Promise<{ outcomes: VerifyOutcome[]; last: VerifyOutcome }> => {
  const outcomes: VerifyOutcome[] = [];
  let outcome = await verifyObject(deps(store, alerts), key, { ...options, continuable: true });
  outcomes.push(outcome);
  while (outcome.outcome === 'paused') {
    outcome = await verifyObject(deps(store, alerts), key, { ...options, continuable: true, continuation: { invocations: outcome.invocations } });
    outcomes.push(outcome);
  }
  return { outcomes, last: outcome };
};

const onePass = async (key: string, body: Buffer, metadata: Record<string, string>): Promise<ObjectRecord> => {
  const store = new MemoryStore();
  await store.put(key, body, { metadata });
  const outcome = await verifyObject(deps(store), key);
  if (outcome.outcome !== 'verified') throw new Error(outcome.outcome);
  return outcome.record;
};

describe('verifyObject in steps (a verify longer than one invocation)', () => {
  it('verifies a multi-member binlog across invocations to the record one pass gives, and removes its checkpoint', async () => {
    const store = new MemoryStore();
    const { raw, body } = await shipLargeBinlog(store);

    const { outcomes, last } = await verifyInSteps(store, BINLOG, { maxBytes: Math.ceil(body.length / 5) });

    expect(outcomes.filter((o) => o.outcome === 'paused').length).toBeGreaterThanOrEqual(3);
    expect(last.outcome).toBe('verified');
    const record = (last as Extract<VerifyOutcome, { outcome: 'verified' }>).record;
    expect(record).toMatchObject({ status: 'ok', sha256Match: true, size: body.length, rawSize: raw.length, gzip: { ok: true, sealed: true } });
    expect(record).toEqual(await onePass(BINLOG, body, (await store.head(BINLOG))?.metadata ?? {}));
    expect(store.objects.has(checkpointOf(BINLOG))).toBe(false);
    expect(store.objects.has(recordOf(BINLOG))).toBe(true);
  });

  it('verifies a multi-member dump across invocations to the record one pass gives (its facts too)', async () => {
    const store = new MemoryStore();
    const raw = gunzipSync(await readFile(join(REAL_DUMPS, 'mariadb55-master-data1-sakila-triggers-routines.sql.gz')));
    const body = await ship(store, DUMP, raw, 128 * 1024, 'dump');

    const { outcomes, last } = await verifyInSteps(store, DUMP, { maxBytes: Math.ceil(body.length / 4) });

    expect(outcomes.filter((o) => o.outcome === 'paused').length).toBeGreaterThanOrEqual(3);
    const record = (last as Extract<VerifyOutcome, { outcome: 'verified' }>).record;
    expect(record.status).toBe('ok');
    expect(record.dump).toMatchObject({ complete: true });
    expect(record).toEqual(await onePass(DUMP, body, (await store.head(DUMP))?.metadata ?? {}));
  });

  it('fails a byte flipped in a later member with the reason one pass gives, and alerts once', async () => {
    const store = new MemoryStore();
    const { body } = await shipLargeBinlog(store);
    const at = Math.floor(body.length * 0.8);
    body[at] = (body[at] ?? 0) ^ 0x04;
    const metadata = (await store.head(BINLOG))?.metadata ?? {};
    await store.put(BINLOG, body, { metadata });
    const alerts: Alert[] = [];

    const { outcomes, last } = await verifyInSteps(store, BINLOG, { maxBytes: Math.ceil(body.length / 5) }, alerts);

    expect(outcomes.filter((o) => o.outcome === 'paused').length).toBeGreaterThanOrEqual(3);
    const record = (last as Extract<VerifyOutcome, { outcome: 'verified' }>).record;
    expect(record.status).toBe('failed');
    expect(record.reasons).toEqual((await onePass(BINLOG, body, metadata)).reasons);
    expect(alerts.map((a) => a.type)).toEqual(['verification-failed']);
  });

  it('never uses the checkpoint of a replaced object: the continuation stops, the new version’s event starts over', async () => {
    const store = new MemoryStore();
    const { body } = await shipLargeBinlog(store);
    const options = { maxBytes: Math.ceil(body.length / 5), continuable: true };
    const first = await verifyObject(deps(store), BINLOG, options);
    expect(first.outcome).toBe('paused');
    // The same key written again, other bytes (a re-shipped binlog).
    const other = await readFile(join(REAL_BINLOGS, 'mysql57-row-crc32-rotate.000001'));
    const replaced = await ship(store, BINLOG, other, 2048, 'binlog');

    const stale = await verifyObject(deps(store), BINLOG, { ...options, continuation: { invocations: 1 } });
    expect(stale).toMatchObject({ outcome: 'ignored', why: expect.stringContaining('another version') });

    const fresh = await verifyInSteps(store, BINLOG, { maxBytes: Math.ceil(replaced.length / 3) });
    expect(fresh.outcomes[0]).toMatchObject({ outcome: 'paused', invocations: 1 });
    const record = (fresh.last as Extract<VerifyOutcome, { outcome: 'verified' }>).record;
    expect(record).toMatchObject({ status: 'ok', size: replaced.length, rawSize: other.length });
    expect(record).toEqual(await onePass(BINLOG, replaced, (await store.head(BINLOG))?.metadata ?? {}));
    expect(store.objects.has(checkpointOf(BINLOG))).toBe(false);
  });

  it('ignores a duplicate continuation, re-announces the chain on an S3 event delivered again, takes over a stale checkpoint', async () => {
    const store = new MemoryStore();
    const { body } = await shipLargeBinlog(store);
    const options = { maxBytes: Math.ceil(body.length / 5), continuable: true };
    const first = await verifyObject(deps(store), BINLOG, options);
    const second = await verifyObject(deps(store), BINLOG, { ...options, continuation: { invocations: 1 } });
    expect(second).toMatchObject({ outcome: 'paused', invocations: 2 });
    const checkpoint = store.json<VerifyCheckpoint>(checkpointOf(BINLOG));

    // The first continuation delivered again (or retried because sending the second failed): the
    // second is announced again, and of two continuations from one checkpoint only one goes on.
    const again = await verifyObject(deps(store), BINLOG, { ...options, continuation: { invocations: 1 } });
    expect(again).toMatchObject({ outcome: 'paused', invocations: 2, storedOffset: checkpoint.state?.storedOffset });
    expect(store.json(checkpointOf(BINLOG))).toEqual(checkpoint);
    const racers = await Promise.all([0, 1].map(() => verifyObject(deps(store), BINLOG, { ...options, continuation: { invocations: 2 } })));
    expect(racers.map((r) => r.outcome).sort()).toEqual(['ignored', 'paused']);
    expect(racers.find((r) => r.outcome === 'ignored')).toMatchObject({ why: 'another invocation went on with this verify first' });
    // Older duplicates do nothing; the S3 event delivered again (or redriven) announces the
    // checkpoint's continuation again, as the chain may be dead, and changes nothing itself.
    expect(await verifyObject(deps(store), BINLOG, { ...options, continuation: { invocations: 1 } })).toMatchObject({ outcome: 'ignored', why: expect.stringContaining('duplicate') });
    const advanced = store.json<VerifyCheckpoint>(checkpointOf(BINLOG));
    expect(await verifyObject(deps(store), BINLOG, options)).toMatchObject({ outcome: 'paused', invocations: 3, storedOffset: advanced.state?.storedOffset });
    expect(store.json(checkpointOf(BINLOG))).toEqual(advanced);
    expect(first).toMatchObject({ outcome: 'paused', invocations: 1 });

    // The chain died (its continuation failed for good): a redriven S3 event goes on from the checkpoint.
    now = new Date(now.getTime() + CHECKPOINT_STALE_MS + 1000);
    const resumed = await verifyObject(deps(store), BINLOG, options);
    expect(resumed).toMatchObject({ outcome: 'paused', invocations: 4 });
    expect((resumed as Extract<VerifyOutcome, { outcome: 'paused' }>).storedOffset).toBeGreaterThan(advanced.state?.storedOffset ?? 0);
  });

  it('stops a continuation whose object is replaced between its HEAD and its ranged GET (never mixes two versions)', async () => {
    const store = new MemoryStore();
    const { body } = await shipLargeBinlog(store);
    const options = { maxBytes: Math.ceil(body.length / 5), continuable: true };
    expect(await verifyObject(deps(store), BINLOG, options)).toMatchObject({ outcome: 'paused', invocations: 1 });
    const checkpoint = store.json<VerifyCheckpoint>(checkpointOf(BINLOG));
    // Same size, other bytes: the HEAD saw the first version, the GET would read the second.
    const replacing = Object.assign(Object.create(store) as MemoryStore, {
      get: async (key: string, getOptions?: { from?: number; ifMatch?: string }) => {
        if (key === BINLOG) await store.put(BINLOG, Buffer.from(body).fill(0x41, body.length - 1000), { metadata: (await store.head(BINLOG))?.metadata ?? {} });
        return store.get(key, getOptions);
      },
    });

    const outcome = await verifyObject({ ...deps(store), store: replacing }, BINLOG, { ...options, continuation: { invocations: 1 } });

    expect(outcome).toMatchObject({ outcome: 'ignored', why: expect.stringContaining('replaced') });
    expect(store.json(checkpointOf(BINLOG))).toEqual(checkpoint);
    expect(store.objects.has(recordOf(BINLOG))).toBe(false);
  });

  it('behaves as before for an object that fits: one read, no checkpoint looked for or written', async () => {
    const store = new MemoryStore();
    const { body } = await shipLargeBinlog(store);
    const gets = store.requests.get;

    const outcome = await verifyObject(deps(store), BINLOG, { maxBytes: body.length, continuable: true });

    expect(outcome).toMatchObject({ outcome: 'verified', record: { status: 'ok' } });
    expect(store.requests.get - gets).toBe(1);
    expect(store.objects.has(checkpointOf(BINLOG))).toBe(false);
  });

  it('fails a single-member object larger than an invocation with a reason that says why it cannot be done in steps', async () => {
    const store = new MemoryStore();
    const raw = await readFile(join(REAL_BINLOGS, 'mysql80-row-crc32-large-stop.000001'));
    const body = gzipSync(raw);
    await store.put(BINLOG, body);

    const { last } = await verifyInSteps(store, BINLOG, { maxBytes: Math.ceil(body.length / 5) });

    const record = (last as Extract<VerifyOutcome, { outcome: 'verified' }>).record;
    expect(record.status).toBe('failed');
    expect(record.reasons).toEqual([expect.stringMatching(/^too large to verify in one invocation: no gzip member ends within the \d+ bytes one invocation read from byte 0/)]);
  });

  describe('when the invocation runs out of time in the middle of a member', () => {
    /** The store, its reads aborting the signal after `chunks` chunks: the time running out part way. */
    const abortingAfter = (store: MemoryStore, controller: AbortController, chunks: number): MemoryStore =>
      Object.assign(Object.create(store) as MemoryStore, {
        get: async (key: string, options?: { from?: number }) => {
          const body = await store.get(key, options);
          return (async function* () {
            let n = 0;
            for await (const chunk of body) {
              if (++n > chunks) controller.abort(new Error('time'));
              yield chunk;
            }
          })();
        },
      });
    /** A verify whose invocation runs out of time (its abort fires) after `chunks` chunks of the object are read. */
    const runOutOfTime = (store: MemoryStore, maxBytes: number, chunks: number): Promise<VerifyOutcome> => {
      const controller = new AbortController();
      return verifyObject({ ...deps(store), store: abortingAfter(store, controller, chunks) }, BINLOG, { maxBytes, continuable: true, signal: controller.signal });
    };

    it('pauses at the last member boundary and goes on from there to the one-pass record', async () => {
      const store = new MemoryStore();
      const { body } = await shipLargeBinlog(store);
      const first = await runOutOfTime(store, body.length - 1, 5);

      expect(first).toMatchObject({ outcome: 'paused', invocations: 1 });
      const offset = (first as Extract<VerifyOutcome, { outcome: 'paused' }>).storedOffset;
      expect(offset).toBeGreaterThan(0);
      expect(offset).toBeLessThanOrEqual(5 * 64 * 1024);
      const { last } = await verifyInSteps(store, BINLOG, { maxBytes: body.length - 1, continuation: { invocations: 1 } });
      expect((last as Extract<VerifyOutcome, { outcome: 'verified' }>).record).toEqual(await onePass(BINLOG, body, (await store.head(BINLOG))?.metadata ?? {}));
    });

    it('starts over resumably when an object thought to fit ran out of time', async () => {
      const store = new MemoryStore();
      const { body } = await shipLargeBinlog(store);
      const first = await runOutOfTime(store, body.length, 3);

      expect(first).toMatchObject({ outcome: 'paused', invocations: 1, storedOffset: 0 });
      expect(store.json<VerifyCheckpoint>(checkpointOf(BINLOG)).state).toBeUndefined();
      const { last } = await verifyInSteps(store, BINLOG, { maxBytes: body.length, continuation: { invocations: 1 } });
      expect(last).toMatchObject({ outcome: 'verified', record: { status: 'ok' } });
      expect(store.objects.has(checkpointOf(BINLOG))).toBe(false);
    });

    it('goes on with a checkpoint it finds when an object thought to fit runs out of time again (never ignores the object)', async () => {
      const store = new MemoryStore();
      const { body } = await shipLargeBinlog(store);
      const runOut = (): Promise<VerifyOutcome> => runOutOfTime(store, body.length, 3);
      // A replaced version's checkpoint left by a dead chain is written over.
      await store.put(checkpointOf(BINLOG), JSON.stringify({ checkpointVersion: 1, key: BINLOG, object: { size: 1 }, started: '', updatedAt: '', invocations: 7 }));
      expect(await runOut()).toMatchObject({ outcome: 'paused', invocations: 1, storedOffset: 0 });
      const written = store.json<VerifyCheckpoint>(checkpointOf(BINLOG));
      expect(written).toMatchObject({ invocations: 1, object: { size: body.length } });

      // Its continuation was not sent, and Lambda's retry of the S3 event runs out of time as well:
      // the checkpoint's continuation is announced again, and the chain ends in the record.
      const retried = await runOut();
      expect(retried).toMatchObject({ outcome: 'paused', invocations: 1, storedOffset: 0 });
      expect(store.json(checkpointOf(BINLOG))).toEqual(written);
      const { last } = await verifyInSteps(store, BINLOG, { maxBytes: body.length, continuation: { invocations: 1 } });
      expect(last).toMatchObject({ outcome: 'verified', record: { status: 'ok' } });
      expect(store.objects.has(checkpointOf(BINLOG))).toBe(false);
    });

    it('leaves no checkpoint when a duplicate event for an object thought to fit wrote the record first', async () => {
      const store = new MemoryStore();
      const { body } = await shipLargeBinlog(store);
      const first = await runOutOfTime(store, body.length, 3);
      expect(first).toMatchObject({ outcome: 'paused', invocations: 1 });

      // The S3 event again: the object fits, so it is read in one pass as before.
      expect(await verifyObject(deps(store), BINLOG, { maxBytes: body.length, continuable: true })).toMatchObject({ outcome: 'verified' });
      expect(await verifyObject(deps(store), BINLOG, { maxBytes: body.length, continuable: true, continuation: { invocations: 1 } })).toMatchObject({ outcome: 'already-verified' });
      expect(store.objects.has(checkpointOf(BINLOG))).toBe(false);
    });
  });
});

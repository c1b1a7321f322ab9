import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StorageError } from '../../../../core/errors.js';
import { S3Store } from '../../../../drivers/aws/s3.js';

/**
 * A connection cut while an object's body streams (seen as `binvault: aborted` from a loaded local
 * endpoint): the SDK retries requests, not the reading of a body, so S3Store reads a small object
 * again from the start. A server on loopback answers GetObject with the headers and the first bytes,
 * then cuts the connection, as many times as it is told to.
 */
describe('S3Store: a body cut while it streams', () => {
  const body = Buffer.from('{"recordVersion":1,"key":"mysql/db1/binlogs/2026-12-04/binlog.000001.gz"}'.repeat(50));
  let server: Server;
  let url: string;
  let cuts = 0;
  let gets = 0;

  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.method !== 'GET') {
        res.writeHead(405).end();
        return;
      }
      gets++;
      res.writeHead(200, { 'Content-Length': String(body.length), ETag: '"abc"', 'Content-Type': 'application/json' });
      if (cuts > 0) {
        cuts--;
        res.write(body.subarray(0, 100), () => res.socket?.destroy());
        return;
      }
      res.end(body);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const store = (): S3Store => new S3Store({ bucket: 'binvault', endpoint: url });

  it('reads the object again from the start, and gets all of it', async () => {
    cuts = 2;
    gets = 0;
    expect((await store().getBytes('mysql/db1/records/r.json')).equals(body)).toBe(true);
    expect(gets).toBe(3);
    cuts = 1;
    gets = 0;
    expect(await store().getVersioned('mysql/db1/catalog/head.json')).toEqual({ body, etag: '"abc"' });
    expect(gets).toBe(2);
  });

  it('after three cuts, one line that names the object', async () => {
    cuts = 3;
    gets = 0;
    const error = await store().getBytes('mysql/db1/records/r.json').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageError);
    expect((error as Error).message).toContain('mysql/db1/records/r.json');
    expect((error as Error).message.split('\n')).toHaveLength(1);
    expect(gets).toBe(3);
  });
});

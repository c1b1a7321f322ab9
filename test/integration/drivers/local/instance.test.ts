import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectTo, startTestServer, type Instance } from '../../../helpers/servers.js';

describe('a throwaway server from the binaries on PATH', () => {
  let server: Instance;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.stop());

  // Servers name temporary files after their pid; two servers in different pid namespaces sharing
  // /tmp took each other's files (CI: "Error on delete of '/tmp/#sql-temptable-…'", a dead server).
  it('keeps its temporary files in its own directory, never a shared /tmp', async () => {
    const connection = await connectTo(server);
    try {
      const [rows] = await connection.query('SELECT @@tmpdir AS tmpdir');
      const { tmpdir } = (rows as Array<{ tmpdir: string }>)[0]!;
      expect(tmpdir.replace(/\/$/, '')).toBe(join(server.baseDir, 'tmp'));
      // information_schema's TEXT columns put this query's internal temporary table on disk: there.
      const [sorted] = await connection.query(
        'SELECT COUNT(*) AS n FROM (SELECT TABLE_NAME, COLUMN_NAME, COLUMN_DEFAULT FROM information_schema.COLUMNS ' +
          'GROUP BY TABLE_NAME, COLUMN_NAME, COLUMN_DEFAULT) AS t',
      );
      expect(Number((sorted as Array<{ n: number }>)[0]!.n)).toBeGreaterThan(100);
    } finally {
      await connection.end();
    }
  });

  it('removes its directory, tmpdir included, when stopped', async () => {
    const other = await startTestServer();
    await other.stop();
    expect(existsSync(other.baseDir)).toBe(false);
  });

  // A free port may be taken by someone else before the server binds it (parallel test workers).
  it('starts on another port when the one it was given is taken, and says nothing of it', async () => {
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const taken = (squatter.address() as { port: number }).port;
    const unexpected: string[] = [];
    try {
      const other = await startTestServer({ port: taken, onUnexpectedExit: (m) => unexpected.push(m) });
      try {
        expect(other.port).not.toBe(taken);
        const connection = await connectTo(other);
        await connection.end();
      } finally {
        await other.stop();
      }
    } finally {
      squatter.close();
    }
    expect(unexpected).toEqual([]);
  });
});

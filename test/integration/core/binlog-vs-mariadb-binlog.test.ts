import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BinlogVerifier, type EventInfo } from '../../../core/binlog/verify.js';
import { findProgram } from '../../../drivers/mysql/programs.js';
import { connectTo, startTestServer, type Instance } from '../../helpers/servers.js';

const run = promisify(execFile);

/**
 * Every event mariadb-binlog prints: a `# at N` line, and later its header line
 * `#YYMMDD HH:MM:SS server id S  end_log_pos E`. The tool prints an ANNOTATE_ROWS event's
 * `# at` together with the next event's, so positions wait in a queue for their header line.
 */
const parseToolOutput = (text: string): { position: number; time: string; serverId: number; endLogPos: number }[] => {
  const events = [];
  const positions: number[] = [];
  for (const line of text.split('\n')) {
    const at = /^# at (\d+)$/.exec(line);
    if (at) {
      positions.push(Number(at[1]));
      continue;
    }
    const head = /^#(\d{2})(\d{2})(\d{2})\s+(\d{1,2}):(\d{2}):(\d{2}) server id (\d+)\s+end_log_pos (\d+)/.exec(line);
    if (!head) continue;
    const [, yy, mo, dd, hh, mi, ss, sid, end] = head;
    events.push({
      position: positions.shift() ?? -1,
      time: `20${yy}-${mo}-${dd}T${(hh ?? '').padStart(2, '0')}:${mi}:${ss}Z`,
      serverId: Number(sid),
      endLogPos: Number(end),
    });
  }
  return events;
};

describe('binlogs written by a real server: the verifier agrees with the server’s own mariadb-binlog', () => {
  let server: Instance;
  let admin: Connection;
  beforeAll(async () => {
    server = await startTestServer({ binlogFormat: 'MIXED' });
    admin = await connectTo(server);
  });
  afterAll(async () => {
    await admin.end();
    await server.stop();
  });

  it('finds the same events at the same positions with the same timestamps and server ids', async () => {
    const tool = findProgram('mariadb-binlog', 'mysqlbinlog');
    expect(tool).toBeDefined();
    await admin.query('CREATE DATABASE shop; CREATE TABLE shop.t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(100), b BLOB)');
    await admin.query("INSERT INTO shop.t (v, b) VALUES ('a', RANDOM_BYTES(100)), ('b', NULL)");
    await admin.query("START TRANSACTION; UPDATE shop.t SET v = CONCAT(v, '!'); DELETE FROM shop.t WHERE id = 2; COMMIT");
    await admin.query('CREATE TEMPORARY TABLE shop.tmp (x INT); INSERT INTO shop.tmp VALUES (1); INSERT INTO shop.t (v) SELECT x FROM shop.tmp');
    await admin.query('FLUSH BINARY LOGS');
    const file = join(server.dataDir, 'binlog.000001');

    const { stdout } = await run(tool ?? 'mariadb-binlog', [file], { env: { ...process.env, TZ: 'UTC' }, maxBuffer: 64 << 20 });
    const expected = parseToolOutput(stdout);
    const seen: EventInfo[] = [];
    const verifier = new BinlogVerifier((e) => seen.push(e));
    verifier.update(await readFile(file));
    const facts = verifier.finish();

    expect(facts.problems).toEqual([]);
    expect(expected.length).toBeGreaterThan(10);
    expect(
      seen.map((e) => ({
        position: e.position,
        time: new Date(e.timestamp * 1000).toISOString().replace('.000Z', 'Z'),
        serverId: e.serverId,
        endLogPos: e.logPos,
      })),
    ).toEqual(expected);
    expect(facts.end).toBe('rotate');
    expect(facts.rotateTo).toBe('binlog.000002');
  });
});

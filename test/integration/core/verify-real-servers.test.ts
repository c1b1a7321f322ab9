import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readOptionFile } from '../../../drivers/mysql/option-file.js';
import { eventsOf, firstEvent, verifyBinlog, withBody } from '../../helpers/binlog.js';
import { connectTo, startTestServer, type Instance } from '../../helpers/servers.js';

/**
 * Binlogs and a relay log written by real MariaDB servers, in the shapes the structure checks must
 * read without a false alarm: a source with binlog_checksum=NONE (so structure is all there is),
 * log_bin_compress (MariaDB's compressed QUERY and ROWS events), binlog_row_metadata=FULL (optional
 * table-map metadata), statement-logged user variables, RAND and INSERT_ID, every common column
 * type, NULLs, and minimal row images; and a replica's relay log of it all.
 */
describe('binlogs and a relay log from real MariaDB servers', () => {
  let source: Instance;
  let replica: Instance;
  let admin: Connection;
  let binlog: Buffer;
  let relay: Buffer;

  beforeAll(async () => {
    source = await startTestServer({
      serverId: 1,
      binlogFormat: 'MIXED',
      extraArgs: ['--binlog-checksum=NONE', '--log-bin-compress=ON', '--log-bin-compress-min-len=10', '--binlog-row-metadata=FULL'],
    });
    // Relay logs are kept once applied, to be read here.
    replica = await startTestServer({ serverId: 2, extraArgs: ['--relay-log=relay-bin', '--relay-log-purge=OFF'] });
    admin = await connectTo(source);
    const password = (await readOptionFile(source.defaultsFile)).password ?? '';
    const toReplica = await connectTo(replica);
    try {
      await toReplica.query(
        `CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=${source.port}, MASTER_USER='root', MASTER_PASSWORD=?, ` +
          "MASTER_USE_GTID=no, MASTER_LOG_FILE='binlog.000001', MASTER_LOG_POS=4; START SLAVE",
        [password],
      );
      await admin.query(`CREATE DATABASE shop; CREATE TABLE shop.every_type (
        id INT AUTO_INCREMENT PRIMARY KEY, tiny TINYINT, small SMALLINT UNSIGNED, medium MEDIUMINT, big BIGINT,
        price DECIMAL(12,4), ratio FLOAT, precise DOUBLE, flags BIT(11), kind ENUM('a','b','c'), tags SET('x','y','z'),
        born DATE, at DATETIME(6), took TIME(3), stamp TIMESTAMP(2) NULL, yr YEAR,
        code CHAR(3), wide CHAR(200), name VARCHAR(40), long_text VARCHAR(2000), raw VARBINARY(300), doc JSON,
        body BLOB, big_body LONGTEXT, spot POINT, addr INET6, uid UUID)`);
      for (let i = 0; i < 20; i++) {
        await admin.query(
          `INSERT INTO shop.every_type (tiny, small, medium, big, price, ratio, precise, flags, kind, tags, born, at, took, stamp, yr,
             code, wide, name, long_text, raw, doc, body, big_body, spot, addr, uid) VALUES
           (?, ?, ?, ?, ?, ?, ?, b'10110011101', 'b', 'x,z', '2024-02-29', NOW(6), '12:34:56.789', NOW(2), 2024,
            'abc', REPEAT('w', 150), ?, REPEAT('lorem ', ?), RANDOM_BYTES(40), JSON_OBJECT('i', ?), RANDOM_BYTES(500), REPEAT('é', 400),
            POINT(1, 2), '2001:db8::1', UUID())`,
          [i - 10, i * 100, -i * 1000, 2 ** 40 + i, i * 1.2345, i / 3, i / 7, `name ${i}`, i * 15, i],
        );
      }
      await admin.query("INSERT INTO shop.every_type (name) VALUES (NULL), ('only a name')");
      await admin.query("SET SESSION binlog_format = 'ROW', binlog_row_image = 'MINIMAL'; UPDATE shop.every_type SET name = CONCAT(name, '!') WHERE id % 3 = 0; DELETE FROM shop.every_type WHERE id % 5 = 0");
      await admin.query(
        "SET SESSION binlog_format = 'STATEMENT'; SET @who = 'statement', @n = 7, @when = 2.5, @nothing = NULL; " +
          'CREATE TABLE shop.log (id INT AUTO_INCREMENT PRIMARY KEY, who VARCHAR(20), n INT, r DOUBLE, d DECIMAL(5,2), z INT); ' +
          'INSERT INTO shop.log (who, n, r, d, z) VALUES (@who, @n, RAND(), @when, @nothing); INSERT INTO shop.log (who) VALUES (LAST_INSERT_ID())',
      );
      await admin.query('FLUSH BINARY LOGS');
      // Wait for the replica to have read and applied everything the source wrote.
      const [status] = (await admin.query('SHOW MASTER STATUS')) as unknown as [{ File: string; Position: number }[]];
      const target = status[0];
      for (let tries = 0; ; tries++) {
        const [rows] = (await toReplica.query('SHOW SLAVE STATUS')) as unknown as [Record<string, unknown>[]];
        const state = rows[0] ?? {};
        if (state.Master_Log_File === target?.File && state.Exec_Master_Log_Pos === state.Read_Master_Log_Pos && state.Slave_SQL_Running === 'Yes') break;
        if (tries > 300) throw new Error(`the replica did not catch up: ${String(state.Last_Error ?? state.Last_IO_Error)}`);
        await sleep(100);
      }
      await toReplica.query('STOP SLAVE');
    } finally {
      await toReplica.end();
    }
    binlog = await readFile(join(source.dataDir, 'binlog.000001'));
    // The relay log that holds the source's binlog.000001 (the first one only rotates to it; the
    // source's FLUSH started another).
    const relays = (await readdir(replica.dataDir)).filter((name) => /^relay-bin\.\d+$/.test(name)).sort();
    const files = await Promise.all(relays.map((name) => readFile(join(replica.dataDir, name))));
    relay = files.reduce((a, b) => (eventsOf(b).length > eventsOf(a).length ? b : a));
  });

  afterAll(async () => {
    await admin?.end();
    await replica?.stop();
    await source?.stop();
  });

  it('finds the source’s binlog sound: compressed events, every column type, minimal images, user variables', () => {
    const facts = verifyBinlog(binlog);

    expect(facts.problems).toEqual([]);
    expect(facts).toMatchObject({ checksum: 'OFF', end: 'rotate' });
    expect(facts.eventsByType).toMatchObject({
      MARIA_QUERY_COMPRESSED: expect.any(Number),
      MARIA_WRITE_ROWS_COMPRESSED_V1: expect.any(Number),
      MARIA_UPDATE_ROWS_COMPRESSED_V1: expect.any(Number),
      TABLE_MAP: expect.any(Number),
      USER_VAR: 4,
      RAND: 1,
      INTVAR: expect.any(Number),
    });
    // Minimal delete images are too small to be worth compressing: either form will do.
    expect((facts.eventsByType.DELETE_ROWS_V1 ?? 0) + (facts.eventsByType.MARIA_DELETE_ROWS_COMPRESSED_V1 ?? 0)).toBeGreaterThan(0);
  });

  it('finds the same with every event split across chunks', () => {
    expect(verifyBinlog(binlog, 7)).toEqual(verifyBinlog(binlog));
  });

  it('catches a changed byte in compressed rows, and a compressed statement’s length', () => {
    const rows = firstEvent(binlog, 'MARIA_WRITE_ROWS_COMPRESSED_V1');
    const inRows = verifyBinlog(withBody(binlog, rows, (body) => body.writeUInt8((body.at(-6) ?? 0) ^ 0x10, body.length - 6)));
    expect(inRows.problems).toHaveLength(1);
    expect(inRows.problems[0]).toMatch(new RegExp(`^MARIA_WRITE_ROWS_COMPRESSED_V1 event at ${rows.position}: cannot inflate the compressed rows \\(.+\\)$`));

    const query = firstEvent(binlog, 'MARIA_QUERY_COMPRESSED');
    const damaged = withBody(binlog, query, (body) => {
      // After the status variables and the database name: 0x80 | n, then the length in n bytes.
      const start = 13 + body.readUInt16LE(11) + (body[8] ?? 0) + 1;
      const n = (body[start] ?? 0) & 0x07;
      body.writeUIntBE(body.readUIntBE(start + 1, n) + 1, start + 1, n);
    });
    expect(verifyBinlog(damaged).problems).toEqual([
      expect.stringMatching(new RegExp(`^MARIA_QUERY_COMPRESSED event at ${query.position}: the compressed statement inflates to (\\d+) bytes where its header says \\d+$`)),
    ]);
  });

  it('finds the replica’s relay log sound: a relay log with the source’s positions', () => {
    const facts = verifyBinlog(relay);

    expect(facts.problems).toEqual([]);
    expect(facts.relayLog).toBe(true);
    expect(facts.notes).toEqual([`relay log: ${facts.logPosMismatchCount} events carry the master's positions`]);
    expect(facts.logPosMismatchCount).toBeGreaterThan(20);
    // The replica's I/O thread inflates compressed events before it writes them to the relay log.
    expect(facts.eventsByType).toMatchObject({ FORMAT_DESCRIPTION: 2, QUERY: expect.any(Number), WRITE_ROWS_V1: expect.any(Number), TABLE_MAP: expect.any(Number) });
  });

  it('knows it as a relay log by its shape alone, as one written before MySQL 5.6 would be', () => {
    // MariaDB 10.11 cannot write a relay log without LOG_EVENT_RELAY_LOG_F: this one has it cleared
    // in its own FDE (and that FDE's CRC32 made right again). What remains is the shape: the relay
    // log's FDE, a ROTATE with log_pos 0 naming the source's file, the source's FDE, then the
    // source's events at the source's positions.
    const fde = eventsOf(relay)[0];
    expect(fde?.name).toBe('FORMAT_DESCRIPTION');
    const flagless = Buffer.from(relay);
    flagless.writeUInt16LE(flagless.readUInt16LE(4 + 17) & ~0x40, 4 + 17);
    const unflagged = withBody(flagless, fde ?? firstEvent(relay, 'FORMAT_DESCRIPTION'), () => undefined);
    const [second, third] = eventsOf(unflagged).slice(1, 3);
    expect([second?.name, unflagged.readUInt32LE((second?.position ?? 0) + 13), third?.name]).toEqual(['ROTATE', 0, 'FORMAT_DESCRIPTION']);

    const facts = verifyBinlog(unflagged);

    expect(facts.problems).toEqual([]);
    expect(facts.relayLog).toBe(true);
    expect(facts.notes[0]).toBe("relay log without the relay-log flag (written before MySQL 5.6): its own FDE, then the master's, whose positions follow");
  });
});

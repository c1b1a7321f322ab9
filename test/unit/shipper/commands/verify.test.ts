import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyCommand } from '../../../../shipper/commands/verify.js';
import type { CommandIo } from '../../../../shipper/commands/io.js';
import { loadConfig } from '../../../../shipper/lib/config.js';
import { eventsOf, type RawEvent } from '../../../helpers/binlog.js';
import { REAL_BINLOGS } from '../../../helpers/fixtures.js';

/** A CommandIo that keeps what the command prints. */
const captured = (json: boolean): CommandIo & { lines: string[]; errors: string[] } => {
  const lines: string[] = [];
  const errors: string[] = [];
  // The results on stdout; progress (JSON lines with --json) and errors on stderr.
  return { lines, errors, out: (line) => lines.push(line), err: (line) => errors.push(line), json, verbose: false };
};

describe('binvault verify: the reasons of a badly damaged file', () => {
  let dir: string;
  let file: string;
  const positions: number[] = [];
  let events: RawEvent[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'binvault-verify-cmd-'));
    // A real MySQL 5.7 binlog without checksums (191 events) with the log_pos of every event after
    // the FDE off by one: 190 reasons, where the human form used to stop at five without saying so.
    const raw = await readFile(`${REAL_BINLOGS}mysql57-row-nochecksum-stop.000001`);
    events = eventsOf(raw);
    const damaged = Buffer.from(raw);
    for (let position = 4 + raw.readUInt32LE(13); position < raw.length; position += raw.readUInt32LE(position + 9)) {
      damaged.writeUInt32LE(damaged.readUInt32LE(position + 13) + 1, position + 13);
      positions.push(position);
    }
    file = join(dir, 'mysql-bin.000001');
    await writeFile(file, damaged);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('says, on one line, the first five and how many more there are', async () => {
    const io = captured(false);
    const code = await verifyCommand(await loadConfig({ BINVAULT_HOST_ID: 'db1', BINVAULT_STATE_DIR: dir }), [file], io);

    expect(code).toBe(1);
    expect(io.lines).toHaveLength(1);
    const first = events.slice(1, 6).map((e) => `log_pos mismatch at ${e.position} (${e.name}): log_pos=${e.position + e.size + 1} expected ${e.position + e.size}`);
    expect(io.lines[0]).toBe(`FAILED  ${file}  ${first.join('; ')}; and ${positions.length - 5} more (--json lists 100 of ${positions.length})`);
  });

  it('gives --json the first 100 and the count of all', async () => {
    const io = captured(true);
    await verifyCommand(await loadConfig({ BINVAULT_HOST_ID: 'db1', BINVAULT_STATE_DIR: dir }), [file], io);

    const line = JSON.parse(io.lines[0] ?? '{}') as { reasons: string[]; reasonCount: number; status: string };
    expect(line.status).toBe('failed');
    expect(line.reasons).toHaveLength(100);
    expect(line.reasonCount).toBe(positions.length);
    expect(line.reasons[99]).toMatch(new RegExp(`^log_pos mismatch at ${positions[99]} `));
  });
});

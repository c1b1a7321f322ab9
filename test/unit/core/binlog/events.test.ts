import { stat } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { binlogHasChanges } from '../../../../core/binlog/events.js';
import { REAL_BINLOGS } from '../../../helpers/fixtures.js';

const changes = async (name: string): Promise<boolean> =>
  binlogHasChanges(`${REAL_BINLOGS}${name}`, (await stat(`${REAL_BINLOGS}${name}`)).size);

describe('binlogHasChanges', () => {
  it.each([
    'mysql56-crc32-fde-only-inuse.000001',
    'mysql80-prev-gtids-only-rotate.000001',
    'mariadb118-empty-crc32-stop.000001',
  ])('sees only bookkeeping in %s', async (name) => {
    expect(await changes(name)).toBe(false);
  });

  it.each(['mysql57-row-crc32-rotate.000001', 'mariadb105-gtid-row-crc32-inuse.000001', 'mysql50-stmt-nochecksum-rotate.000001'])(
    'sees the transactions in %s',
    async (name) => {
      expect(await changes(name)).toBe(true);
    },
  );

  it('counts a truncated file as changed, to be safe', async () => {
    expect(await changes('mysql57-crc32-truncated-after-fde.000001')).toBe(true);
  });
});

import { describe, expect, it } from 'vitest';
import { parseServerVersion, versionAtLeast } from '../../../core/server.js';

describe('parseServerVersion', () => {
  it.each([
    ['10.11.19-MariaDB-0+deb12u1-log', '', 'mariadb', [10, 11, 19]],
    ['5.5.5-10.5.15-MariaDB-1:10.5.15+maria~focal-log', '', 'mariadb', [10, 5, 15]],
    ['8.4.3', 'MySQL Community Server - GPL', 'mysql', [8, 4, 3]],
    ['9.6.0', '', 'mysql', [9, 6, 0]],
    ['26.7.0', '', 'mysql', [26, 7, 0]],
    ['8.0.36-28', 'Percona Server (GPL), Release 28', 'mysql', [8, 0, 36]],
  ] as const)('%s', (text, comment, flavor, [major, minor, patch]) => {
    expect(parseServerVersion(text, comment)).toMatchObject({ flavor, major, minor, patch });
  });

  it('compares versions past 9.x', () => {
    expect(versionAtLeast(parseServerVersion('26.7.0'), 8, 2)).toBe(true);
    expect(versionAtLeast(parseServerVersion('8.0.40'), 8, 2)).toBe(false);
  });
});

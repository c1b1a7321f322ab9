// `npx binvault` after `npm ci`: npm links the bins of dependencies into node_modules/.bin but not
// the project's own, so `prepare` links it there.
import { existsSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';

if (existsSync('node_modules')) {
  mkdirSync('node_modules/.bin', { recursive: true });
  rmSync('node_modules/.bin/binvault', { force: true });
  symlinkSync('../../bin/binvault.mjs', 'node_modules/.bin/binvault');
}

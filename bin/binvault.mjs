#!/usr/bin/env node
// The installed entry point: the bundled CLI (built by `npm run build`, which `npm ci` runs as prepare).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const bundle = fileURLToPath(new URL('../dist/binvault.mjs', import.meta.url));
if (!existsSync(bundle)) {
  process.stderr.write('binvault: dist/binvault.mjs is missing: run `npm run build` first\n');
  process.exit(1);
}
await import(bundle);

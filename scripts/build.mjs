// Bundles the CLI into one file a host runs with plain `node`, and each Lambda into its own.
import { build } from 'esbuild';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
  // CommonJS dependencies (mysql2, s3rver) call require(): give the ESM bundle one.
  banner: {
    js: "import { createRequire as __binvaultRequire } from 'node:module'; const require = __binvaultRequire(import.meta.url);",
  },
};

await build({ ...common, entryPoints: ['shipper/bin/binvault.ts'], outfile: 'dist/binvault.mjs' });

const functions = existsSync('functions')
  ? readdirSync('functions', { withFileTypes: true }).filter((d) => d.isDirectory() && existsSync(join('functions', d.name, 'handler.ts')))
  : [];
for (const fn of functions) {
  await build({
    ...common,
    entryPoints: [join('functions', fn.name, 'handler.ts')],
    outfile: join('dist', 'functions', fn.name, 'index.mjs'),
    target: 'node22',
    // The Lambda runtime ships the AWS SDK v3; bundling it would only grow the zip.
    external: ['@aws-sdk/*'],
  });
}
console.log(`built dist/binvault.mjs and ${functions.length} function bundle(s)`);

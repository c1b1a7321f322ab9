// Bundles the CLI for a host that runs it with plain `node`, and each Lambda into its own file.
//
// The CLI is split: dist/binvault.mjs and the chunks it imports statically are what a database host
// (and a restore instance) runs; the embedded runtime (`local up`, `demo`, a local restore: s3rver,
// aws-local-stepfunctions, the handlers) is a chunk loaded by import() only when one of those runs.
import { build } from 'esbuild';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
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

rmSync('dist', { recursive: true, force: true });
const cli = await build({
  ...common,
  entryPoints: { binvault: 'shipper/bin/binvault.ts' },
  outdir: 'dist',
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  outExtension: { '.js': '.mjs' },
  metafile: true,
});

/** The bytes of an output and of everything it imports, statically (what runs) or through import() too. */
const closure = (outputs, entry, withDynamic) => {
  const seen = new Set();
  const visit = (path) => {
    if (seen.has(path) || !outputs[path]) return;
    seen.add(path);
    for (const i of outputs[path].imports) if (!i.external && (i.kind === 'import-statement' || withDynamic)) visit(i.path);
  };
  visit(entry);
  return [...seen].reduce((sum, path) => sum + outputs[path].bytes, 0);
};
// dist/ is what a host installs (README: /opt/binvault/dist, /usr/local/bin/binvault a link to
// binvault.mjs, which starts with the entry's #!/usr/bin/env node): executable, and with the restore
// and drill state machines' definitions, which the local runtime reads beside the chunks (../infra/).
chmodSync('dist/binvault.mjs', 0o755);
mkdirSync('dist/infra', { recursive: true });
copyFileSync('infra/restore.asl.json', 'dist/infra/restore.asl.json');
copyFileSync('infra/drill.asl.json', 'dist/infra/drill.asl.json');

const outputs = cli.metafile.outputs;
const host = closure(outputs, 'dist/binvault.mjs', false);
const all = closure(outputs, 'dist/binvault.mjs', true);

const functions = existsSync('functions')
  ? readdirSync('functions', { withFileTypes: true }).filter((d) => d.isDirectory() && existsSync(join('functions', d.name, 'handler.ts')))
  : [];
const sizes = [];
for (const fn of functions) {
  const out = join('dist', 'functions', fn.name, 'index.mjs');
  const result = await build({
    ...common,
    entryPoints: [join('functions', fn.name, 'handler.ts')],
    outfile: out,
    target: 'node22',
    // The Lambda runtime ships the AWS SDK v3; bundling it would only grow the zip.
    external: ['@aws-sdk/*'],
    metafile: true,
  });
  sizes.push(`${fn.name} ${(result.metafile.outputs[out].bytes / 1e6).toFixed(2)} MB`);
}
const mb = (bytes) => `${(bytes / 1e6).toFixed(2)} MB`;
console.log(`built dist/binvault.mjs (host: ${mb(host)}; with the embedded runtime, loaded on demand: ${mb(all)}) and ${functions.length} function bundle(s) (${sizes.join(', ')})`);

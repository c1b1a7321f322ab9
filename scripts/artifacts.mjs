// The restore instance's artifacts: the binvault CLI as one file (no chunks: the instance downloads
// one object) with its sha256, and scripts/restore-instance.sh, which the launch template's user
// data fetches. Built into dist/artifacts/; with --bucket, published to {prefix}/_artifacts/ there.
//
//   node scripts/artifacts.mjs                                          # build only
//   node scripts/artifacts.mjs --bucket binvault-prod-backups [--prefix mysql] [--region eu-west-1]
//
// `osls deploy` runs it after each deployment (infra/plugins/publish-artifacts.cjs).
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const { values } = parseArgs({ options: { bucket: { type: 'string' }, prefix: { type: 'string', default: 'mysql' }, region: { type: 'string' } } });
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const root = new URL('..', import.meta.url).pathname;

mkdirSync(`${root}dist/artifacts`, { recursive: true });
const bundle = `binvault-${version}.mjs`;
await build({
  entryPoints: [`${root}shipper/bin/binvault.ts`],
  outfile: `${root}dist/artifacts/${bundle}`,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  legalComments: 'none',
  logLevel: 'warning',
  banner: { js: "import { createRequire as __binvaultRequire } from 'node:module'; const require = __binvaultRequire(import.meta.url);" },
});
const body = readFileSync(`${root}dist/artifacts/${bundle}`);
const sha256 = createHash('sha256').update(body).digest('hex');
writeFileSync(`${root}dist/artifacts/${bundle}.sha256`, `${sha256}  ${bundle}\n`);
const script = `restore-instance-${version}.sh`;
writeFileSync(`${root}dist/artifacts/${script}`, readFileSync(`${root}scripts/restore-instance.sh`), { mode: 0o755 });
console.log(`built dist/artifacts/${bundle} (${(body.length / 1e6).toFixed(2)} MB, sha256 ${sha256}) and ${script}`);

if (values.bucket) {
  const { PutObjectCommand, S3Client } = await import('@aws-sdk/client-s3');
  const client = new S3Client({ ...(values.region ? { region: values.region } : {}), followRegionRedirects: true });
  const prefix = values.prefix.replace(/\/+$/, '');
  for (const name of [bundle, `${bundle}.sha256`, script]) {
    const key = `${prefix}/_artifacts/${name}`;
    await client.send(new PutObjectCommand({ Bucket: values.bucket, Key: key, Body: readFileSync(`${root}dist/artifacts/${name}`), ContentType: name.endsWith('.sha256') ? 'text/plain' : 'application/octet-stream' }));
    console.log(`published s3://${values.bucket}/${key}`);
  }
}

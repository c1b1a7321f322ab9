import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * The layers and what each may import (besides itself and Node's built-ins):
 * - core: the pure domain (formats, verify, catalog, alerts, retention, restore plan and workflow,
 *   the ports). No SDK, no driver, no process of its own; only zod (its tree-shaken 'mini' build) from npm,
 *   and hash-wasm (a sha256 whose state can be saved: a verify that goes on in the next invocation).
 * - drivers: every implementation of a port (S3, SNS, EC2/SSM, MySQL sessions and clients, local
 *   instances, file alerts). They know core, never a command or a handler.
 * - shipper: the host's CLI. The embedded runtime (local/) is loaded on demand, only through the
 *   one dynamic import of local/cli.ts, so that the host's bundle does not carry it.
 * - functions: the Lambda handlers: core and drivers, wired.
 * - local: the embedded runtime; it runs the handlers and the shipper's library, so it may import
 *   everything.
 */
const LAYERS = ['core', 'drivers', 'shipper', 'functions', 'local'] as const;
type Layer = (typeof LAYERS)[number];
const MAY_IMPORT: Record<Layer, Layer[]> = {
  core: ['core'],
  drivers: ['core', 'drivers'],
  shipper: ['core', 'drivers', 'shipper'],
  functions: ['core', 'drivers', 'functions'],
  local: ['core', 'drivers', 'shipper', 'functions', 'local'],
};
/** npm packages core may use: it stays free of SDKs, drivers and frameworks. */
const CORE_PACKAGES = new Set(['zod/mini', 'hash-wasm']);
/** The embedded runtime's entry, which the CLI loads with import() for `local up`, `demo` and a local restore. */
const LOCAL_ENTRY = 'local/cli.ts';

const sources = (dir: string): string[] =>
  readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });

interface Import {
  file: string;
  specifier: string;
  dynamic: boolean;
}

const importsOf = (file: string): Import[] => {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const found: Import[] = [];
  for (const match of text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+'([^']+)'/gms)) found.push({ file, specifier: match[1] ?? '', dynamic: false });
  for (const match of text.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g)) found.push({ file, specifier: match[1] ?? '', dynamic: true });
  return found;
};

const layerOf = (path: string): Layer | undefined => LAYERS.find((layer) => path.startsWith(`${layer}/`));

const resolved = (imp: Import): string => relative(ROOT, resolve(ROOT, dirname(imp.file), imp.specifier)).replace(/\.js$/, '.ts');

describe('the layout: imports go one way', () => {
  const all = LAYERS.flatMap((layer) => sources(layer)).flatMap(importsOf);

  it('reads the imports of every source file (the rule below checks something)', () => {
    expect(all.length).toBeGreaterThan(300);
    expect(all.some((i) => i.dynamic && resolved(i) === LOCAL_ENTRY)).toBe(true);
  });

  it('every relative import stays within what its layer may import', () => {
    const wrong = all
      .filter((imp) => imp.specifier.startsWith('.'))
      .filter((imp) => {
        const from = layerOf(imp.file);
        const to = layerOf(resolved(imp));
        if (!from || !to) return true;
        if (from === 'shipper' && to === 'local') return !(imp.dynamic && resolved(imp) === LOCAL_ENTRY);
        return !MAY_IMPORT[from].includes(to);
      })
      .map((imp) => `${imp.file} → ${resolved(imp)}${imp.dynamic ? ' (dynamic)' : ''}`);
    expect(wrong).toEqual([]);
  });

  it('core imports no package but zod and Node built-ins: no SDK, no MySQL driver, no framework', () => {
    const wrong = all
      .filter((imp) => layerOf(imp.file) === 'core' && !imp.specifier.startsWith('.') && !imp.specifier.startsWith('node:'))
      .filter((imp) => !CORE_PACKAGES.has(imp.specifier))
      .map((imp) => `${imp.file} imports ${imp.specifier}`);
    expect(wrong).toEqual([]);
  });

  it('core starts no process, opens no socket and reads no environment', () => {
    const wrong = sources('core').filter((file) => /node:child_process|node:net|node:http|process\.env/.test(readFileSync(join(ROOT, file), 'utf8')));
    expect(wrong).toEqual([]);
  });

  it('drivers and functions never load the embedded runtime (s3rver, aws-local-stepfunctions)', () => {
    const wrong = all
      .filter((imp) => ['drivers', 'functions', 'shipper', 'core'].includes(layerOf(imp.file) ?? ''))
      .filter((imp) => /^(s3rver|aws-local-stepfunctions)$/.test(imp.specifier))
      .map((imp) => `${imp.file} imports ${imp.specifier}`);
    expect(wrong).toEqual([]);
  });
});

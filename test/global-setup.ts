import { execFileSync } from 'node:child_process';

/** Tests run the CLI the way a host does, from the bundle: build it once, fresh. */
export default function setup(): void {
  execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });
}

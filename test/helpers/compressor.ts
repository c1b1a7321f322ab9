import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A directory holding a fake `igzip` to put first on PATH: it answers `--version` like ISA-L's, then
 * misbehaves as asked once it is compressing.
 * - `dies`: reads 256 KiB of input, writes a gzip header and some bytes, and is killed (SIGKILL);
 * - `fails`: reads some input, says why on stderr and exits 2;
 * - `broken`: cannot even print its version (exit 127, as a missing library makes it).
 */
export const fakeIgzip = async (behaviour: 'dies' | 'fails' | 'broken'): Promise<string> => {
  const dir = await mkdtemp(join(tmpdir(), 'binvault-fake-igzip-'));
  const body = {
    dies: `/usr/bin/head -c 262144 > /dev/null\nprintf '\\037\\213\\010\\000\\000\\000\\000\\000\\000\\003'\n/usr/bin/head -c 5000 /dev/zero\nkill -9 $$`,
    fails: `/usr/bin/head -c 1000 > /dev/null\necho 'igzip: cannot allocate the compression state' >&2\nexit 2`,
    broken: '',
  }[behaviour];
  const version =
    behaviour === 'broken'
      ? `echo 'igzip: error while loading shared libraries: libisal.so.2: cannot open shared object file' >&2; exit 127`
      : `if [ "$1" = "--version" ]; then echo 'igzip command line interface 2.30.0'; exit 0; fi`;
  await writeFile(join(dir, 'igzip'), `#!/bin/bash\n${version}\n${body}\n`);
  await chmod(join(dir, 'igzip'), 0o755);
  return dir;
};

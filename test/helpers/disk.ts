/**
 * A prefix for runCli that runs the CLI with `dir` on a full file system: a small tmpfs mounted on
 * it in a mount namespace of the command's own (util-linux `unshare`; as root, or as any user where
 * unprivileged user namespaces are on), filled up before the CLI starts, gone when it exits.
 * `freePages` pages (4 KiB) are left free: a run that writes a little before it fails.
 */
export const onFullDisk = (dir: string, freePages = 0): string[] => [
  'unshare',
  '--mount',
  // Root needs no user namespace to mount; anyone else does.
  ...(process.getuid?.() === 0 ? [] : ['--map-root-user']),
  'sh',
  '-c',
  'mount -t tmpfs -o size=256k binvault-full "$1" || exit 97; cat /dev/zero > "$1/.fill" 2>/dev/null; ' +
    'truncate -s "-$(($2 * 4096))" "$1/.fill" || exit 97; shift 2; exec "$@"',
  'sh',
  dir,
  String(freePages),
];

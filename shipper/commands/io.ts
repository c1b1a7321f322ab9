/** Where a command writes: results to stdout, progress and errors to stderr. */
export interface CommandIo {
  out(line: string): void;
  err(line: string): void;
  json: boolean;
  verbose: boolean;
}

export const processIo = (json: boolean, verbose: boolean): CommandIo => ({
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  json,
  verbose,
});

/**
 * An AbortSignal raised by SIGINT or SIGTERM, so a command can finish or abort what it does
 * cleanly instead of dying mid-write.
 */
export const signalOnTermination = (): { signal: AbortSignal; dispose(): void; received(): string | undefined } => {
  const controller = new AbortController();
  let received: string | undefined;
  const handler = (name: NodeJS.Signals): void => {
    received = name;
    controller.abort(new Error(`stopped by ${name}`));
  };
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
    received: () => received,
  };
};

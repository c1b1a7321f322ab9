import type { ParseArgsConfig } from 'node:util';
import type { Config } from '../../core/config.js';
import { UsageError } from '../../core/errors.js';
import type { CommandIo } from './io.js';

export type OptionSpecs = NonNullable<ParseArgsConfig['options']>;

/** What a command is handed: its parsed options and operands, the output, and the configuration. */
export interface CommandContext {
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  /** Words after the command's own (only for a command that takes operands). */
  operands: string[];
  io: CommandIo;
  /** The configuration (environment over `--config FILE`), read only when the command asks. */
  config(): Promise<Config>;
}

/**
 * One command of the CLI: its words, usage, help and options, and what it runs. bin/binvault.ts
 * parses argv strictly against the options of the command named, and calls `run`.
 */
export interface Command {
  /** Its words: `ship binlogs`. */
  name: string;
  /** What follows the name in the usage line: `[--loop] [--interval S]`. */
  synopsis: string;
  /** One line for `binvault --help`. */
  summary: string;
  /** Its own help, after the usage line: what it does, its options, its exit codes. */
  help: string;
  /** Its options, besides the global ones (--config, --json, --verbose, --help). */
  options?: OptionSpecs;
  /** Takes operands (`verify FILE…`): their name in the usage. */
  operands?: string;
  run(context: CommandContext): Promise<number>;
}

/** A number of seconds from an option, or a usage error that quotes it. */
export const secondsOption = (values: CommandContext['values'], name: string, fallback: number): number => {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (typeof raw !== 'string' || !Number.isFinite(value) || value <= 0) throw new UsageError(`--${name} '${String(raw)}' is not a positive number of seconds`);
  return value;
};

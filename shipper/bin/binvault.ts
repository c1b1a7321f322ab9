#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { BinvaultError, UsageError } from '../../core/errors.js';
import { VERSION } from '../../core/version.js';
import { command as check } from '../commands/check.js';
import type { Command, OptionSpecs } from '../commands/command.js';
import { processIo } from '../commands/io.js';
import { demo, localUp } from '../commands/local.js';
import { command as restoreApply } from '../commands/restore-apply.js';
import { command as drill, snapshot as drillSnapshot } from '../commands/drill.js';
import { command as restore } from '../commands/restore.js';
import { command as redrive } from '../commands/redrive.js';
import { command as retention } from '../commands/retention.js';
import { command as shipBinlogs } from '../commands/ship-binlogs.js';
import { command as shipDump } from '../commands/ship-dump.js';
import { catalogRebuild, status } from '../commands/status.js';
import { command as verify } from '../commands/verify.js';
import { loadConfig } from '../lib/config.js';

/** Every command, in the order `binvault --help` lists them. */
const COMMANDS: readonly Command[] = [check, shipBinlogs, shipDump, status, catalogRebuild, retention, redrive, restore, restoreApply, drill, drillSnapshot, verify, localUp, demo];

/** Options every command takes. */
const GLOBAL: OptionSpecs = {
  config: { type: 'string' },
  json: { type: 'boolean' },
  verbose: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
};

const usageLine = (c: Command): string => `binvault ${c.name}${c.synopsis ? ` ${c.synopsis}` : ''}`;

const USAGE = `binvault ${VERSION}: continuous backup and point-in-time recovery for MySQL and MariaDB

usage: binvault <command> [options]

commands:
${COMMANDS.map((c) => {
  const left = `  ${c.name}${c.synopsis ? ` ${c.synopsis}` : ''}`;
  return left.length < 41 ? `${left.padEnd(41)}${c.summary}` : `${left}\n${' '.repeat(41)}${c.summary}`;
}).join('\n')}

options for every command:
  --config FILE   dotenv file with BINVAULT_* settings (the environment wins)
  --json          machine-readable output (JSON lines)
  --verbose       more detail; stack traces on errors
  --help          this text, or a command's own (binvault help <command> too)

configuration (environment): BINVAULT_BUCKET, BINVAULT_PREFIX, BINVAULT_HOST_ID, BINVAULT_S3_ENDPOINT,
  BINVAULT_MYSQL_DEFAULTS_FILE (the [client] option file: the only place a password lives),
  BINVAULT_TZ, BINVAULT_STATE_DIR; for ship: BINVAULT_COMPRESSOR (auto|zlib|igzip),
  BINVAULT_MAX_CORES, BINVAULT_NICE. See README.md.
`;

const helpOf = (c: Command): string => `usage: ${usageLine(c)} [--json]\n\n${c.help}`;

/** The leading words of argv (before the first option), which name the command. */
const leadingWords = (argv: string[]): string[] => {
  const words: string[] = [];
  for (const arg of argv) {
    if (arg.startsWith('-')) break;
    words.push(arg);
  }
  return words;
};

/** The command whose name is the longest run of leading words. */
const findCommand = (words: string[]): Command | undefined =>
  [...COMMANDS].sort((a, b) => b.name.length - a.name.length).find((c) => c.name.split(' ').every((w, i) => words[i] === w));

/** The commands under a group word (`ship` → ship binlogs, ship dump), for `binvault ship --help`. */
const groupHelp = (word: string): string | undefined => {
  const members = COMMANDS.filter((c) => c.name.split(' ')[0] === word && c.name.includes(' '));
  if (members.length === 0) return undefined;
  return `usage: binvault ${word} <${members.map((c) => c.name.split(' ').slice(1).join(' ')).join('|')}> [options]\n\n${members.map((c) => `  ${usageLine(c)}\n      ${c.summary}`).join('\n')}\n\nbinvault ${word} <…> --help tells more.\n`;
};

/** Why parseArgs refused an option, as one line that says what to do. */
const optionProblem = (error: Error, command: Command): UsageError => {
  const option = /'(-{1,2}[^']+)'/.exec(error.message)?.[1];
  if ((error as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option) {
    const name = option.replace(/^-+/, '').split('=')[0] ?? '';
    if (COMMANDS.some((c) => c.options?.[name] !== undefined)) return new UsageError(`${option} does not apply to '${command.name}'`);
    return new UsageError(`unknown option ${option} for '${command.name}' (binvault ${command.name} --help lists its options)`);
  }
  if ((error as { code?: string }).code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option) {
    return new UsageError(`${option.split(' ')[0]} ${/argument missing/.test(error.message) ? 'needs a value' : 'takes no value'}`);
  }
  return new UsageError(error.message.split('\n')[0] ?? error.message);
};

const main = async (argv: string[]): Promise<number> => {
  const json = argv.includes('--json');
  const io = processIo(json, argv.includes('--verbose'));
  const words = leadingWords(argv);
  const wantsHelp = argv.includes('--help') || argv.includes('-h');
  if (argv.includes('--version') && words.length === 0) {
    io.out(VERSION);
    return 0;
  }
  if (words.length === 0) {
    io.out(USAGE);
    return wantsHelp ? 0 : 2;
  }
  if (words[0] === 'help') {
    if (words.length === 1) {
      io.out(USAGE);
      return 0;
    }
    const named = findCommand(words.slice(1));
    const group = named ? undefined : groupHelp(words[1] ?? '');
    if (!named && !group) throw new UsageError(`unknown command '${words.slice(1).join(' ')}' (binvault --help lists them)`);
    io.out(named ? helpOf(named) : (group ?? ''));
    return 0;
  }
  const command = findCommand(words);
  if (!command) {
    const group = groupHelp(words[0] ?? '');
    if (group && wantsHelp) {
      io.out(group);
      return 0;
    }
    if (group) throw new UsageError(`'${words.join(' ')}' needs a command: ${COMMANDS.filter((c) => c.name.startsWith(`${words[0]} `)).map((c) => `'${c.name}'`).join(', ')} (binvault ${words[0]} --help)`);
    throw new UsageError(`unknown command '${words.join(' ')}' (binvault --help lists them)`);
  }
  if (wantsHelp) {
    io.out(helpOf(command));
    return 0;
  }

  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, strict: true, options: { ...GLOBAL, ...command.options } });
  } catch (error) {
    throw optionProblem(error as Error, command);
  }
  const operands = parsed.positionals.slice(command.name.split(' ').length);
  if (!command.operands && operands.length > 0) throw new UsageError(`'${command.name}' takes no argument '${operands[0] ?? ''}'`);
  const configFile = typeof parsed.values.config === 'string' ? parsed.values.config : undefined;
  return command.run({ values: parsed.values, operands, io, config: () => loadConfig(process.env, configFile) });
};

// The SDK warns on stderr that future versions need Node 22; a host on Node 20 is supported here,
// and the warning would break the one-line error contract.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const verbose = process.argv.includes('--verbose');
main(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  })
  .catch((error: unknown) => {
    const err = error instanceof Error ? error : new Error(String(error));
    process.stderr.write(`binvault: ${err.message}\n`);
    if (verbose && err.stack) process.stderr.write(`${err.stack}\n`);
    process.exitCode = err instanceof BinvaultError ? err.exitCode : 1;
  });

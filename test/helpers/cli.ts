import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

export const CLI = fileURLToPath(new URL('../../dist/binvault.mjs', import.meta.url));

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the built CLI as a user would (`node dist/binvault.mjs …`), with exactly the given
 * environment on top of PATH and HOME: nothing leaks in from the test process.
 */
export const runCli = (
  args: string[],
  env: Record<string, string>,
  options: { timeoutMs?: number; onSpawn?: (pid: number) => void; prefix?: string[] } = {},
): Promise<CliResult> =>
  new Promise((resolve, reject) => {
    // A prefix runs the CLI through another command (e.g. onFullDisk's), which execs it.
    const [command, ...commandArgs] = [...(options.prefix ?? []), process.execPath, CLI, ...args] as [string, ...string[]];
    const child = spawn(command, commandArgs, {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (child.pid !== undefined) options.onSpawn?.(child.pid);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });

/** Expects a command's exit code; when it differs, the failure shows what the command said. */
export const expectExit = (result: Pick<CliResult, 'code' | 'stderr'>, code: number): void => {
  expect(result.code, result.stderr).toBe(code);
};

/** A word for `sh -c`, quoted. */
const quoted = (word: string): string => `'${word.replace(/'/g, `'\\''`)}'`;

/**
 * Runs the built CLI on a pseudo-terminal (util-linux `script`), as a person at a terminal would:
 * stdout and stderr are the terminal, so `output` holds both, escape sequences and all.
 */
export const runCliOnTerminal = (
  args: string[],
  env: Record<string, string>,
  options: { timeoutMs?: number; columns?: number } = {},
): Promise<{ code: number | null; output: string }> =>
  new Promise((resolve, reject) => {
    const command = [process.execPath, CLI, ...args].map(quoted).join(' ');
    // -e: script exits with the command's code; the terminal's width is set for the bar's layout.
    const child = spawn('script', ['-q', '-e', '-c', `stty cols ${options.columns ?? 120} 2>/dev/null; exec ${command}`, '/dev/null'], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', TERM: 'xterm', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });

/**
 * What a terminal shows at the end, near enough for a bar drawn on one line: a return to the first
 * column (CR, CSI G) or a cleared line (CSI 2K) starts the line over; other escapes are dropped.
 */
export const screenLines = (output: string): string[] =>
  output
    .replace(/\x1b\[\d*G|\x1b\[2K/g, '\r')
    .replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[78]/g, '')
    .split('\n')
    .map((line) => line.replace(/\r$/, '').split('\r').at(-1) ?? '')
    .filter((line) => line.trim() !== '');

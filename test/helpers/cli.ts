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

import { clearLine, cursorTo } from 'node:readline';
import cliProgress from 'cli-progress';
import { formatBytes, formatDuration } from '../lib/format.js';
import type { CommandIo } from './io.js';

/** How far one phase of a command is: `done` of `total` bytes. */
export interface ProgressUpdate {
  /** `dump`, `binlogs`, `load`, `download`, `replay`, `verify`. */
  phase: string;
  done: number;
  total: number;
  /** The total is an estimate (a dump's size from information_schema): shown as `~`. */
  estimated?: boolean;
  /** Seconds left of the whole command, when the caller knows them (a restore, from its measured rates). */
  remainingSeconds?: number;
}

/**
 * Where a command shows the progress events its library emits (style.md item 9): a bar with the
 * total and an ETA on a terminal (cli-progress, on stderr), JSON lines on stderr with `--json`,
 * nothing otherwise — a command run by cron or systemd prints only its result.
 */
export interface ProgressView {
  update(progress: ProgressUpdate): void;
  /** A step begins (a restore's state): a line above the bar on a terminal; nothing elsewhere. */
  step(name: string): void;
  /** Prints a line through `write` without garbling the bar (which is drawn again below it). */
  line(text: string, write: (line: string) => void): void;
  /** Removes the bar (always call it: a bar keeps a timer running). */
  done(): void;
}

/** JSON lines, at most one a second per phase, and the last one of each phase. */
const jsonProgress = (io: CommandIo, now: () => number): ProgressView => {
  const phases = new Map<string, { started: number; printed: number }>();
  return {
    update: (p) => {
      const at = now();
      const phase = phases.get(p.phase) ?? { started: at, printed: Number.NEGATIVE_INFINITY };
      phases.set(p.phase, phase);
      const finished = p.done >= p.total;
      if (!finished && at - phase.printed < 1000) return;
      phase.printed = at;
      const elapsed = (at - phase.started) / 1000;
      const rate = elapsed > 0 ? p.done / elapsed : 0;
      const etaSeconds = finished ? 0 : rate > 0 ? Math.ceil((p.total - p.done) / rate) : null;
      io.err(JSON.stringify({ type: 'progress', phase: p.phase, done: p.done, total: p.total, ...(p.estimated ? { estimated: true } : {}), etaSeconds, ...(p.remainingSeconds !== undefined ? { remainingSeconds: p.remainingSeconds } : {}) }));
    },
    step: () => undefined,
    line: (text, write) => write(text),
    done: () => undefined,
  };
};

/** A cli-progress bar on a terminal: one bar per phase, its total and ETA, cleared when it ends. */
const terminalProgress = (stream: NodeJS.WriteStream): ProgressView => {
  let bar: cliProgress.SingleBar | undefined;
  let phase: string | undefined;
  const payloadOf = (p: ProgressUpdate) => ({
    phase: p.phase.padEnd(8),
    about: p.estimated ? '~' : '',
    left: p.remainingSeconds !== undefined ? `  (all done in about ${formatDuration(p.remainingSeconds)})` : '',
  });
  const line = (text: string, write: (line: string) => void): void => {
    if (bar) {
      cursorTo(stream, 0);
      clearLine(stream, 0);
    }
    write(text);
    bar?.render();
  };
  return {
    update: (p) => {
      if (bar && phase === p.phase) {
        bar.setTotal(Math.max(p.total, 1));
        bar.update(Math.min(p.done, Math.max(p.total, 1)), payloadOf(p));
        return;
      }
      bar?.stop();
      phase = p.phase;
      bar = new cliProgress.SingleBar({
        stream,
        format: '  {phase} [{bar}] {percentage}%  {value} of {about}{total}  ETA {eta_formatted}{left}',
        barsize: 30,
        barCompleteChar: '#',
        barIncompleteChar: '.',
        clearOnComplete: true,
        hideCursor: true,
        etaBuffer: 20,
        etaAsynchronousUpdate: true,
        // Drawn again after a line printed above it, whether or not the value moved.
        forceRedraw: true,
        formatValue: (value: number, _options: unknown, type: string) => (type === 'value' || type === 'total' ? formatBytes(Number(value)) : String(value)),
        // cli-progress reports an ETA it cannot compute yet as 'NULL' or 'INF'.
        formatTime: (seconds: number | string) => (typeof seconds === 'number' ? formatDuration(seconds) : '?'),
      });
      bar.start(Math.max(p.total, 1), Math.min(p.done, Math.max(p.total, 1)), payloadOf(p));
    },
    step: (name) => line(`→ ${name}`, (text) => stream.write(`${text}\n`)),
    line,
    done: () => {
      bar?.stop();
      bar = undefined;
      phase = undefined;
    },
  };
};

/** The view for this command's output: `--json`, a terminal on stderr, or neither. */
export const progressView = (io: CommandIo, stream: NodeJS.WriteStream = process.stderr, now: () => number = Date.now): ProgressView => {
  if (io.json) return jsonProgress(io, now);
  if (stream.isTTY) return terminalProgress(stream);
  return { update: () => undefined, step: () => undefined, line: (text, write) => write(text), done: () => undefined };
};

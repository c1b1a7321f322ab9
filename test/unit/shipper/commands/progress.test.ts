import { describe, expect, it } from 'vitest';
import type { CommandIo } from '../../../../shipper/commands/io.js';
import { progressView } from '../../../../shipper/commands/progress.js';

const io = (json: boolean) => {
  const out: string[] = [];
  const err: string[] = [];
  const value: CommandIo = { out: (l) => void out.push(l), err: (l) => void err.push(l), json, verbose: false };
  return { value, out, err };
};
const notATerminal = { isTTY: false } as unknown as NodeJS.WriteStream;

describe('progressView', () => {
  it('with --json: a JSON line a second at most, with an ETA from the rate so far, and always the last one', () => {
    const { value, err } = io(true);
    let now = 0;
    const view = progressView(value, notATerminal, () => now);

    view.update({ phase: 'load', done: 100, total: 1000 });
    now = 500;
    view.update({ phase: 'load', done: 200, total: 1000 });
    now = 2000;
    view.update({ phase: 'load', done: 400, total: 1000 });
    now = 2100;
    view.update({ phase: 'load', done: 1000, total: 1000 });

    expect(err.map((l) => JSON.parse(l) as unknown)).toEqual([
      { type: 'progress', phase: 'load', done: 100, total: 1000, etaSeconds: null },
      { type: 'progress', phase: 'load', done: 400, total: 1000, etaSeconds: 3 },
      { type: 'progress', phase: 'load', done: 1000, total: 1000, etaSeconds: 0 },
    ]);
  });

  it('carries the time left of the whole command when the caller knows it', () => {
    const { value, err } = io(true);
    progressView(value, notATerminal, () => 0).update({ phase: 'replay', done: 5, total: 10, remainingSeconds: 42 });
    expect(JSON.parse(err[0] ?? '')).toMatchObject({ phase: 'replay', done: 5, total: 10, remainingSeconds: 42 });
  });

  it('says when a total is an estimate', () => {
    const { value, err } = io(true);
    progressView(value, notATerminal, () => 0).update({ phase: 'dump', done: 5, total: 10, estimated: true });
    expect(JSON.parse(err[0] ?? '')).toMatchObject({ estimated: true });
  });

  it('neither --json nor a terminal: nothing but the lines the command prints anyway', () => {
    const { value, out, err } = io(false);
    const view = progressView(value, notATerminal);

    view.update({ phase: 'verify', done: 1, total: 2 });
    view.step('Plan');
    view.line('shipped binlog.000001', value.out);
    view.done();

    expect(out).toEqual(['shipped binlog.000001']);
    expect(err).toEqual([]);
  });
});

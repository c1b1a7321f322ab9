import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FIRST_WAIT, LONGEST_WAIT, nextWait } from '../../../../core/restore/workflow.js';

/** History events of one check: Wait entered/exited, Task entered, Lambda scheduled/started/succeeded, Task exited, Choice entered/exited. */
const EVENTS_PER_CHECK = 9;

describe('the waits between a step’s status checks', () => {
  it('grow from 30 s to 15 minutes', () => {
    const waits: number[] = [];
    let w: number | undefined;
    for (let i = 0; i < 8; i++) waits.push((w = nextWait(w)));
    expect(waits).toEqual([30, 60, 120, 240, 480, 900, 900, 900]);
    expect([FIRST_WAIT, LONGEST_WAIT]).toEqual([30, 900]);
  });

  it('keep a 48-hour load and a 48-hour replay far below Step Functions’ 25,000 history events', () => {
    const checksFor = (seconds: number): number => {
      let elapsed = 0;
      let checks = 0;
      let w: number | undefined;
      while (elapsed < seconds) {
        w = nextWait(w);
        elapsed += w;
        checks++;
      }
      return checks;
    };
    const events = 2 * checksFor(48 * 3600) * EVENTS_PER_CHECK;
    expect(events).toBeLessThan(4_000);
  });

  it('are what the state machine’s Wait states read (SecondsPath), not a fixed number', () => {
    const states = (JSON.parse(readFileSync('infra/restore.asl.json', 'utf8')) as { States: Record<string, Record<string, unknown>> }).States;
    expect(states.WaitForLoad).toEqual({ Type: 'Wait', SecondsPath: '$.load.wait', Next: 'CheckLoad' });
    expect(states.WaitForReplay).toEqual({ Type: 'Wait', SecondsPath: '$.replay.wait', Next: 'CheckReplay' });
  });
});

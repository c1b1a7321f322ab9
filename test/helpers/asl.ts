/** The parts of an Amazon States Language state the worst-case bound reads. */
export interface AslState {
  Type: string;
  Resource?: string;
  Next?: string;
  Default?: string;
  End?: boolean;
  TimeoutSeconds?: number;
  Seconds?: number;
  SecondsPath?: string;
  Choices?: { Next: string }[];
  Retry?: { ErrorEquals: string[]; IntervalSeconds?: number; MaxAttempts?: number; BackoffRate?: number }[];
  Catch?: { ErrorEquals: string[]; Next: string }[];
}

export interface AslDefinition {
  StartAt: string;
  TimeoutSeconds?: number;
  States: Record<string, AslState>;
}

/** Lambda's own limit: whatever a Task state's TimeoutSeconds, an invocation ends within 15 minutes. */
export const LAMBDA_MAX_SECONDS = 900;

/**
 * The longest a Task state can take on AWS: every attempt (the first and each retrier's MaxAttempts,
 * counted separately as Step Functions counts them) running to min(TimeoutSeconds, Lambda's 900 s),
 * plus every retry interval (IntervalSeconds × BackoffRate^n; the ASL defaults 1 s, 3, 2.0).
 */
export const taskWorstSeconds = (state: AslState): number => {
  const attempt = Math.min(state.TimeoutSeconds ?? 60, LAMBDA_MAX_SECONDS);
  let total = attempt;
  for (const r of state.Retry ?? []) {
    const interval = r.IntervalSeconds ?? 1;
    const backoff = r.BackoffRate ?? 2;
    for (let n = 0; n < (r.MaxAttempts ?? 3); n += 1) total += attempt + interval * backoff ** n;
  }
  return total;
};

/**
 * The longest path through a state machine, in seconds: each Task at its worst (taskWorstSeconds),
 * each Wait with SecondsPath a whole polling loop — `loopSeconds` (the longest the step it polls can
 * run, plus the last wait before it is seen done) — and a fixed Wait its Seconds. Every edge counts
 * (Next, Default, each Choice, each Catch after the Task's whole worst time); an edge back to a state
 * already on the path (the loop back from a Choice to its Wait) is the loop loopSeconds already counts.
 * The definitions are small (about 25 states), so the search tries every path.
 * @returns the seconds and the path that takes them
 */
export const worstCaseSeconds = (definition: AslDefinition, loopSeconds: number): { seconds: number; path: string[] } => {
  const costOf = (state: AslState): number => {
    if (state.Type === 'Task') return taskWorstSeconds(state);
    if (state.Type === 'Wait') return state.SecondsPath ? loopSeconds : (state.Seconds ?? 0);
    return 0;
  };
  const longest = (name: string, onPath: string[]): { seconds: number; path: string[] } => {
    const state = definition.States[name];
    if (!state) throw new Error(`no state ${name}`);
    const path = [...onPath, name];
    // A Choice may be passed once from each state that leads to it (into its loop, out of it once the
    // loop's Wait is on the path, back from a task its loop side-steps to, as the drill's RetireLater);
    // any other state once.
    const open = (n: string): boolean =>
      definition.States[n]?.Type === 'Choice' ? !path.some((p, i) => p === name && path[i + 1] === n) : !path.includes(n);
    const next = [state.Next, state.Default, ...(state.Choices ?? []).map((c) => c.Next), ...(state.Catch ?? []).map((c) => c.Next)].filter((n): n is string => n !== undefined && open(n));
    let best = { seconds: 0, path };
    for (const n of new Set(next)) {
      const after = longest(n, path);
      if (after.seconds > best.seconds) best = after;
    }
    return { seconds: costOf(state) + best.seconds, path: best.path };
  };
  return longest(definition.StartAt, []);
};

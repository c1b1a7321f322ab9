import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * aws-local-stepfunctions targets Node 22 and calls Promise.withResolvers, which Node 20 lacks:
 * without this polyfill every Task throws a TypeError that a `Catch: States.ALL` would swallow.
 */
const promise = Promise as unknown as { withResolvers?: <T>() => { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } };
if (typeof promise.withResolvers !== 'function') {
  promise.withResolvers = <T>() => {
    let resolve!: (v: T) => void;
    let reject!: (e: unknown) => void;
    const p = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise: p, resolve, reject };
  };
}

/**
 * A state machine's definition: the same file AWS deploys (infra/{name}.asl.json), its
 * `${…FunctionArn}` substitutions (CloudFormation fills them in on AWS) made local function ARNs.
 */
export const definitionOf = (name: 'restore' | 'drill'): Record<string, unknown> => {
  const candidates = [new URL(`../infra/${name}.asl.json`, import.meta.url), new URL(`../../infra/${name}.asl.json`, import.meta.url)];
  for (const url of candidates) {
    let text: string;
    try {
      text = readFileSync(fileURLToPath(url), 'utf8');
    } catch {
      continue; // Next candidate: the source tree, or the bundle's place in dist/.
    }
    return JSON.parse(text.replace(/\$\{(\w+)FunctionArn\}/g, 'arn:aws:lambda:us-east-1:000000000000:function:binvault-local-$1')) as Record<string, unknown>;
  }
  throw new Error(`infra/${name}.asl.json not found`);
};

/** The restore state machine's definition (infra/restore.asl.json). */
export const restoreDefinition = (): Record<string, unknown> => definitionOf('restore');

/** The drill state machine's definition (infra/drill.asl.json). */
export const drillDefinition = (): Record<string, unknown> => definitionOf('drill');

export interface LocalExecutionEvent {
  type: string;
  state?: string;
  error?: string;
  cause?: string;
}

/**
 * Runs a state machine definition in-process, each Task state mapped to a local handler by its
 * name; Wait states and Retry pauses shortened to `pauseMs`.
 */
export const runLocalStateMachine = async (
  definition: Record<string, unknown>,
  input: unknown,
  handlers: Record<string, (input: never) => Promise<unknown>>,
  options: { pauseMs?: number; onEvent?: (event: LocalExecutionEvent) => void } = {},
): Promise<unknown> => {
  const { StateMachine } = await import('aws-local-stepfunctions');
  const states = (definition.States ?? {}) as Record<string, { Type: string; Resource?: string }>;
  const taskHandlers: Record<string, (input: unknown) => Promise<unknown>> = {};
  const waits: Record<string, number> = {};
  const retries: Record<string, number> = {};
  for (const [name, state] of Object.entries(states)) {
    if (state.Type === 'Wait') waits[name] = options.pauseMs ?? 0;
    if (state.Type !== 'Task') continue;
    retries[name] = options.pauseMs ?? 0;
    // By the state's name, else by the function its Resource names: states that share one function on
    // AWS (the restore's CheckLoad and CheckReplay: CheckStep; CleanupStrays: Cleanup) share its handler.
    const handler = handlers[name] ?? handlers[/binvault-local-(\w+)$/.exec(state.Resource ?? '')?.[1] ?? ''];
    if (!handler) throw new Error(`no local handler for the Task state ${name}`);
    taskHandlers[name] = handler as (input: unknown) => Promise<unknown>;
  }
  const machine = new StateMachine(definition as never, { validationOptions: { checkArn: false } });
  const execution = machine.run(input as never, {
    overrides: { taskResourceLocalHandlers: taskHandlers as never, waitTimeOverrides: waits, retryIntervalOverrides: retries },
  });
  const logs = (async () => {
    for await (const event of execution.eventLogs as AsyncIterable<Record<string, unknown>>) {
      const state = (event.state as { name?: string } | undefined)?.name;
      options.onEvent?.({
        type: String(event.type),
        ...(state ? { state } : {}),
        ...(event.Error !== undefined ? { error: String(event.Error) } : {}),
        ...(event.Cause !== undefined ? { cause: String(event.Cause) } : {}),
      });
    }
  })().catch(() => undefined);
  try {
    return await execution.result;
  } finally {
    await logs;
  }
};

// Runs state-machines/export.asl.json with aws-local-stepfunctions, its Task states mapped to the real
// handlers. It plays Step Functions' part in the embedded stack: StartExecution with the export id as
// the execution name, executions that can be awaited or stopped, a machine timeout that (like the
// EventBridge rule in AWS) still closes the job, and every ending reported as EventBridge reports it.
import type { Context } from 'aws-lambda';
import { ExecutionAbortedError, ExecutionTimeoutError, StateMachine } from 'aws-local-stepfunctions';
import { readFileSync } from 'node:fs';
import { EXPORT_DEFINITION_FILE } from '../state-machines/definition.ts';
import type { ExecutionEnding } from '../lambdas/core/lifecycle/export-failure.ts';
import type { Workflow, WorkflowInput } from '../lambdas/core/lifecycle/export-lifecycle.ts';
import { systemClock, type Clock } from '../lambdas/core/platform/clock.ts';
import { LOCAL_REGION, LOCAL_STATE_MACHINE_ARN } from './iam/local-resources.ts';

/** The Task states and the substitution variable of each one's Lambda ARN. */
export const TASK_FUNCTIONS = {
  PrepareExport: 'PrepareExportFunctionArn',
  CollectSource: 'CollectSourceFunctionArn',
  CollectDatabaseSource: 'CollectDatabaseSourceFunctionArn',
  BundleArchive: 'BundleArchiveFunctionArn',
  SendLink: 'SendLinkFunctionArn',
  MarkFailed: 'MarkFailedFunctionArn',
} as const;
export type TaskName = keyof typeof TASK_FUNCTIONS;

/**
 * Tasks whose function the stack has only for some data maps, and the function that stands in for each
 * when it has none, as in lib/export-workflow.ts: without database sources the Map never routes to
 * CollectDatabaseSource, and CollectSource would refuse a database source if it did.
 */
export const STAND_IN_TASKS = { CollectDatabaseSource: 'CollectSource' } as const satisfies Partial<Record<TaskName, TaskName>>;
type OptionalTask = keyof typeof STAND_IN_TASKS;

/** A handler for every Task; CollectDatabaseSource's only when the stack has that function. */
export type TaskHandlers = Record<Exclude<TaskName, OptionalTask>, TaskHandler> & Partial<Record<OptionalTask, TaskHandler>>;

export type TaskHandler = (event: unknown, context: Context) => Promise<unknown>;

/** The definition with `${…FunctionArn}` replaced, as CDK's definitionSubstitutions does in AWS. */
export function loadDefinition(substitutions: Record<string, string>): Record<string, unknown> {
  const text = readFileSync(EXPORT_DEFINITION_FILE, 'utf8').replace(/\$\{(\w+)\}/g, (whole, name: string) => substitutions[name] ?? whole);
  return JSON.parse(text) as Record<string, unknown>;
}

interface TaskState {
  Type?: string;
  TimeoutSeconds?: number;
  ItemProcessor?: { States: Record<string, TaskState> };
}

function taskTimeouts(definition: Record<string, unknown>): Map<string, number> {
  const timeouts = new Map<string, number>();
  const visit = (states: Record<string, TaskState>) => {
    for (const [name, state] of Object.entries(states)) {
      if (state.Type === 'Task') timeouts.set(name, state.TimeoutSeconds ?? 60);
      if (state.ItemProcessor) visit(state.ItemProcessor.States);
    }
  };
  visit(definition.States as Record<string, TaskState>);
  return timeouts;
}

/** A Lambda context for a local invocation: the remaining time counts down from the Task's timeout. */
export function lambdaContext(functionName: string, timeoutSeconds: number, clock: Clock = systemClock): Context {
  const now = () => clock().getTime();
  const deadline = now() + timeoutSeconds * 1000;
  return {
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: crypto.randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis: () => Math.max(0, deadline - now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

export type ExecutionOutcome = { status: 'SUCCEEDED'; output: unknown } | { status: 'FAILED'; error: string; cause: string } | { status: 'TIMED_OUT' | 'ABORTED' };

export interface LocalWorkflowOptions {
  handlers: TaskHandlers;
  /** Milliseconds between retries instead of the ASL's backoff (tests only: keeps failure paths fast). */
  retryIntervalMs?: number;
  /**
   * Called when an execution ends, whichever way (SUCCEEDED, FAILED, TIMED_OUT or ABORTED), as
   * EventBridge's rule calls ExecutionEnded in AWS (a FAILED ending may or may not have passed through
   * MarkFailed). wait() answers only once this has returned.
   */
  onEnd?: (input: WorkflowInput, status: ExecutionEnding) => Promise<void>;
  /** Overrides the whole-machine TimeoutSeconds (tests of the timeout path). */
  timeoutSeconds?: number;
  /** The clock each invocation's remaining time counts down on (the stack's). */
  clock?: Clock;
}

export class LocalWorkflow implements Workflow {
  private readonly machine: StateMachine;
  private readonly executions = new Map<string, { outcome: Promise<ExecutionOutcome>; abort: () => void }>();
  /** Executions not yet ended: what Step Functions would list as RUNNING. */
  private readonly running = new Set<string>();
  /** Callers of wait() for an export whose execution has not started yet (it waits for a slot). */
  private readonly startWaiters = new Map<string, (() => void)[]>();
  private readonly localHandlers: Record<string, (input: unknown) => Promise<unknown>>;
  /** Task invocations still running per export, including ones a failed Map no longer waits for. */
  private readonly inFlight = new Map<string, Set<Promise<unknown>>>();

  constructor(private readonly options: LocalWorkflowOptions) {
    const substitutions = Object.fromEntries(Object.entries(TASK_FUNCTIONS).map(([task, variable]) => [variable, `arn:aws:lambda:us-east-1:000000000000:function:${task}`]));
    const definition = loadDefinition(substitutions);
    if (options.timeoutSeconds !== undefined) definition.TimeoutSeconds = options.timeoutSeconds;
    const timeouts = taskTimeouts(definition);
    this.machine = new StateMachine(definition as never);
    const handlerOf = (task: TaskName): [TaskName, TaskHandler] => {
      const own = (options.handlers as Partial<Record<TaskName, TaskHandler>>)[task];
      if (own) return [task, own];
      const standIn = STAND_IN_TASKS[task as OptionalTask];
      return [standIn, options.handlers[standIn]];
    };
    this.localHandlers = Object.fromEntries(
      (Object.keys(TASK_FUNCTIONS) as TaskName[]).map((task) => {
        const [functionName, handler] = handlerOf(task);
        return [task, (input: unknown) => this.track(input, handler(input, lambdaContext(functionName, timeouts.get(task) ?? 60, options.clock)))];
      }),
    );
  }

  start(exportId: string, input: WorkflowInput): Promise<void> {
    if (this.executions.has(exportId)) {
      return Promise.reject(new Error(`An execution named ${exportId} already exists.`));
    }
    const retryIntervalOverrides =
      this.options.retryIntervalMs === undefined ? undefined : Object.fromEntries(Object.keys(TASK_FUNCTIONS).map((task) => [task, this.options.retryIntervalMs ?? 0]));
    const execution = this.machine.run(
      { exportId: input.exportId, userId: input.userId },
      { overrides: { taskResourceLocalHandlers: this.localHandlers as never, retryIntervalOverrides } },
    );
    this.running.add(exportId);
    const ended = async (outcome: ExecutionOutcome, status: ExecutionEnding): Promise<ExecutionOutcome> => {
      // Ended before it is reported, as in AWS: what the report starts in its place runs beside no ghost.
      this.running.delete(exportId);
      await this.options.onEnd?.(input, status);
      return outcome;
    };
    const outcome = execution.result.then(
      (output: unknown) => ended({ status: 'SUCCEEDED', output }, 'SUCCEEDED'),
      (error: unknown) => {
        if (error instanceof ExecutionTimeoutError || error instanceof ExecutionAbortedError) {
          const status = error instanceof ExecutionTimeoutError ? 'TIMED_OUT' : 'ABORTED';
          return ended({ status }, status);
        }
        const failure = error as Error & { cause?: unknown };
        return ended({ status: 'FAILED', error: failure.name, cause: failure.message }, 'FAILED');
      },
    );
    this.executions.set(exportId, { outcome, abort: execution.abort });
    for (const resolve of this.startWaiters.get(exportId) ?? []) resolve();
    this.startWaiters.delete(exportId);
    return Promise.resolve();
  }

  /** How many executions are running now (the admission cap bounds it). */
  runningCount(): number {
    return this.running.size;
  }

  private track(input: unknown, invocation: Promise<unknown>): Promise<unknown> {
    const exportId = (input as { exportId?: unknown } | null)?.exportId;
    if (typeof exportId !== 'string') return invocation;
    const running = this.inFlight.get(exportId) ?? new Set();
    this.inFlight.set(exportId, running);
    running.add(invocation);
    const forget = () => running.delete(invocation);
    invocation.then(forget, forget);
    return invocation;
  }

  /**
   * Resolves when the execution has ended and every task invocation it started has returned. As in AWS,
   * a Map whose iteration failed stops waiting for the others; waiting for them here lets callers see
   * the state those stragglers leave behind.
   */
  async wait(exportId: string): Promise<ExecutionOutcome> {
    // An export still waiting for a slot has no execution yet: wait until admission starts it, or until
    // it is cancelled while it waits (stop), when it never will.
    if (!this.executions.has(exportId)) await new Promise<void>((resolve) => this.startWaiters.set(exportId, [...(this.startWaiters.get(exportId) ?? []), resolve]));
    const execution = this.executions.get(exportId);
    if (!execution) return { status: 'ABORTED' };
    const outcome = await execution.outcome;
    for (let running = this.inFlight.get(exportId); running && running.size > 0; running = this.inFlight.get(exportId)) {
      await Promise.allSettled([...running]);
    }
    return outcome;
  }

  stop(exportId: string): Promise<void> {
    this.executions.get(exportId)?.abort();
    // Never started (cancelled while it waited for a slot): whoever waits for it has nothing to wait for.
    if (!this.executions.has(exportId)) {
      for (const resolve of this.startWaiters.get(exportId) ?? []) resolve();
      this.startWaiters.delete(exportId);
    }
    return Promise.resolve();
  }

  /** Resolves once no execution runs, including those admitted while earlier ones ended. */
  async drain(): Promise<void> {
    let settled = 0;
    // An ending's report may start more executions; wait until a round adds none.
    while (this.executions.size > settled) {
      settled = this.executions.size;
      await Promise.allSettled([...this.executions.values()].map((e) => e.outcome));
    }
  }
}

/** The event EventBridge delivers for an execution's status change, as Step Functions documents it. */
export function statusChangeEvent(input: WorkflowInput, status: ExecutionEnding, at: Date) {
  const executionArn = `${LOCAL_STATE_MACHINE_ARN.replace(':stateMachine:', ':execution:')}:${input.exportId}`;
  return {
    version: '0',
    id: crypto.randomUUID(),
    'detail-type': 'Step Functions Execution Status Change' as const,
    source: 'aws.states',
    account: '000000000000',
    time: at.toISOString(),
    region: LOCAL_REGION,
    resources: [executionArn],
    detail: {
      executionArn,
      stateMachineArn: LOCAL_STATE_MACHINE_ARN,
      name: input.exportId,
      status,
      startDate: at.getTime(),
      stopDate: at.getTime(),
      input: JSON.stringify(input),
    },
  };
}

// The workflow in AWS: an export's execution of the state machine, started and stopped through the
// Step Functions API (the embedded stack runs the same ASL with its local runner instead).
import { SFNClient, StartExecutionCommand, StopExecutionCommand } from '@aws-sdk/client-sfn';
import type { Workflow } from './export-lifecycle.ts';
import { parseEnv, pickEnv } from '../platform/config.ts';
import type { Runtime } from '../runtime.ts';

/** A function's workflow: the one given (the embedded stack's runner), else Step Functions' state machine STATE_MACHINE_ARN. */
export function workflowOf(runtime: Runtime, given?: Workflow): Workflow {
  return given ?? new StepFunctionsWorkflow(runtime.client(SFNClient), parseEnv(pickEnv('STATE_MACHINE_ARN'), runtime.env).STATE_MACHINE_ARN);
}

/** Step Functions as the workflow: the execution is named after the export, so a retry cannot run it twice. */
export class StepFunctionsWorkflow implements Workflow {
  constructor(
    private readonly sfn: SFNClient,
    private readonly stateMachineArn: string,
  ) {}

  async start(exportId: string, input: { exportId: string; userId: string }): Promise<void> {
    try {
      await this.sfn.send(new StartExecutionCommand({ stateMachineArn: this.stateMachineArn, name: exportId, input: JSON.stringify(input) }));
    } catch (error) {
      // Export ids are new for every job, so an execution of this name can only be this export's own,
      // started by an earlier attempt of this call (Step Functions answers a repeat with the same input
      // while it runs, and ExecutionAlreadyExists once it has ended): the export is started.
      if ((error as Error).name !== 'ExecutionAlreadyExists') throw error;
    }
  }

  async stop(exportId: string): Promise<void> {
    const executionArn = `${this.stateMachineArn.replace(':stateMachine:', ':execution:')}:${exportId}`;
    try {
      await this.sfn.send(new StopExecutionCommand({ executionArn, cause: 'Cancelled by request' }));
    } catch (error) {
      // Already ended (or never started): the job row is what the caller sees, and it says CANCELLED.
      if ((error as Error).name !== 'ExecutionDoesNotExist') throw error;
    }
  }
}

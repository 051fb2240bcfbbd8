// Fault injection around the CollectSource step: the other steps run as they are.
import type { TaskHandler, TaskName } from '../../local/local-workflow.ts';

export interface CollectCall {
  userId: string;
  sourceId: string;
}

/** A wrapTask option for the embedded stack that runs `around` for every CollectSource call. */
export function aroundCollectSource(around: (call: CollectCall, collect: () => Promise<unknown>) => Promise<unknown>) {
  return (task: TaskName, handler: TaskHandler): TaskHandler =>
    task !== 'CollectSource' ? handler : (event, context) => around(event as CollectCall, () => handler(event, context));
}

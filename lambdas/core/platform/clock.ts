// Time, injected: every place time matters (retention, link expiry, cooldown, time budgets) takes a
// clock, required rather than defaulted, so none reads the system's by omission; tests pass their own
// instead of waiting.

/** The time now, as a Date. */
export type Clock = () => Date;

export const systemClock: Clock = () => new Date();

/**
 * When a looping step's call must stop (milliseconds by `clock`): after its budget, or `marginMs` before
 * Lambda would end it, whichever comes first; never in the past.
 */
export function callDeadline(clock: Clock, context: { getRemainingTimeInMillis(): number }, budget: { seconds: number; marginMs: number }): number {
  return clock().getTime() + Math.max(0, Math.min(budget.seconds * 1000, context.getRemainingTimeInMillis() - budget.marginMs));
}

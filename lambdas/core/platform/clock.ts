// Time, injected: every place time matters (retention, link expiry, cooldown, time budgets) takes a
// clock, and tests pass their own instead of waiting.

/** The time now, as a Date. */
export type Clock = () => Date;

export const systemClock: Clock = () => new Date();

/** The time by `clock`, or by the system's when none is given. */
export const currentTime = (clock?: Clock): Date => (clock ?? systemClock)();

/**
 * When a looping step's call must stop (milliseconds by `clock`): after its budget, or `marginMs` before
 * Lambda would end it, whichever comes first; never in the past.
 */
export function callDeadline(clock: Clock, context: { getRemainingTimeInMillis(): number }, budget: { seconds: number; marginMs: number }): number {
  return clock().getTime() + Math.max(0, Math.min(budget.seconds * 1000, context.getRemainingTimeInMillis() - budget.marginMs));
}

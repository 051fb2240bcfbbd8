// Time, injected: every place time matters (retention, link expiry, cooldown, time budgets) takes a
// clock, and tests pass their own instead of waiting.

/** The time now, as a Date. */
export type Clock = () => Date;

export const systemClock: Clock = () => new Date();

/** The time by `clock`, or by the system's when none is given. */
export const currentTime = (clock?: Clock): Date => (clock ?? systemClock)();

// A clock tests can move forward: the system's time plus an offset, so timers and emulators keep their
// own pace while retention, link expiry and cooldowns see the days a test lets pass.
import type { Clock } from '../../lambdas/core/platform/clock.ts';

export class TestClock {
  private offsetMs = 0;
  readonly now: Clock = () => new Date(Date.now() + this.offsetMs);

  advance(ms: number): void {
    this.offsetMs += ms;
  }
}

export const DAY_MS = 86_400_000;

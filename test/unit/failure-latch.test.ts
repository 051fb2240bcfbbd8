// FailureLatch: waits that end with the failure of what they depend on (an upload), and otherwise with
// their own outcome.
import { describe, expect, it } from 'vitest';
import { FailureLatch } from '../../lambdas/core/platform/failure-latch.ts';

describe('FailureLatch', () => {
  it('passes a wait through while nothing has failed', async () => {
    const latch = new FailureLatch(new Promise(() => undefined));
    await expect(latch.guard(Promise.resolve('block'))).resolves.toBe('block');
    await expect(latch.guard(Promise.reject(new Error('own failure')))).rejects.toThrow('own failure');
    expect(latch.error).toBeUndefined();
  });

  it('ends the waits under way, and refuses later ones, with the operation’s failure', async () => {
    let fail!: (error: Error) => void;
    const latch = new FailureLatch(new Promise((_, reject) => (fail = reject)));
    const pending = latch.guard(new Promise(() => undefined));
    fail(new Error('upload died'));
    await expect(pending).rejects.toThrow('upload died');
    await expect(latch.guard(Promise.resolve('late'))).rejects.toThrow('upload died');
    expect(latch.error?.message).toBe('upload died');
  });

  it('keeps the first failure', async () => {
    const latch = new FailureLatch();
    latch.fail(new Error('first'));
    latch.fail('second');
    await expect(latch.guard(Promise.resolve(1))).rejects.toThrow('first');
  });
});

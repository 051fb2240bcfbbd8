// Waits that end early when something they depend on fails (an upload dying while the writer waits for
// room). Not Promise.race against the long-running operation's promise: every race leaves a reaction on
// that promise, holding the race's result, until the operation settles — a megabyte-scale leak when
// the results are compressed blocks and the operation is an archive's whole upload.

export class FailureLatch {
  private failure: Error | undefined;
  private readonly waiting = new Set<(error: Error) => void>();

  /** Latches when `operation` rejects; its success changes nothing. */
  constructor(operation?: Promise<unknown>) {
    operation?.catch((error: unknown) => this.fail(error));
  }

  /** The failure, once there is one. */
  get error(): Error | undefined {
    return this.failure;
  }

  fail(error: unknown): void {
    if (this.failure) return;
    this.failure = error instanceof Error ? error : new Error(String(error));
    for (const reject of this.waiting) reject(this.failure);
    this.waiting.clear();
  }

  /** `promise`'s outcome, or the latched failure if that comes first. */
  guard<T>(promise: Promise<T>): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<T>((resolve, reject) => {
      this.waiting.add(reject);
      promise.then(resolve, reject).finally(() => this.waiting.delete(reject));
    });
  }
}

/**
 * What one side of the worker hop collects during an event-loop turn, sent
 * as one message at the end of that turn (a message costs far more than its
 * contents). `filling()` gives the batch to add to and makes sure it leaves;
 * the next turn starts a fresh one.
 */
export class TurnOutbox<T> {
  private batch: T;
  private scheduled = false;

  constructor(
    private readonly empty: () => T,
    private readonly flush: (batch: T) => void,
  ) {
    this.batch = empty();
  }

  /** This turn's batch: add to it, and it is sent at the end of the turn. */
  filling(): T {
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.send);
    }
    return this.batch;
  }

  private readonly send = (): void => {
    this.scheduled = false;
    const batch = this.batch;
    this.batch = this.empty();
    this.flush(batch);
  };
}

/** A push-fed async iterable: a producer pushes events, one consumer reads them with `for await`. */

/** Events pushed by a producer, read once, in order, until {@link EventQueue.end}. */
export class EventQueue<T> implements AsyncIterable<T> {
  private readonly buffered: T[] = [];
  private waiting?: (result: IteratorResult<T>) => void;
  private ended = false;

  /** Adds an event (ignored after `end`). */
  push(value: T): void {
    if (this.ended) return;
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = undefined;
      resolve({ value, done: false });
    } else this.buffered.push(value);
  }

  /** No more events: the reader finishes once it has read the buffered ones. */
  end(): void {
    this.ended = true;
    if (this.waiting && this.buffered.length === 0) {
      const resolve = this.waiting;
      this.waiting = undefined;
      resolve({ value: undefined, done: true });
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        if (this.buffered.length > 0)
          return Promise.resolve({ value: this.buffered.shift() as T, done: false });
        if (this.ended) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => (this.waiting = resolve));
      },
    };
  }
}

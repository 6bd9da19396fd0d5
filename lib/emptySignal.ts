/**
 * Promises that a collection has become empty: the registry's streams, the
 * viewer table's viewers (the drain awaits both). Its owner says when it
 * emptied; a wait on a collection that is empty already resolves at once.
 */
export class EmptySignal {
  readonly #waiters = new Set<() => void>();

  wait(isEmptyNow: boolean): Promise<void> {
    if (isEmptyNow) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.add(resolve));
  }

  emptied(): void {
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const resolve of waiters) resolve();
  }
}

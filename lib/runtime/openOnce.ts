/** `open` called on first use only, its result (or that it gave nothing) kept for the life of the process. */
export function openOnce<T>(open: () => T | undefined): () => T | undefined {
  let opened: T | null | undefined; // undefined: not tried yet; null: tried, nothing
  return () => {
    if (opened === undefined) opened = open() ?? null;
    return opened ?? undefined;
  };
}

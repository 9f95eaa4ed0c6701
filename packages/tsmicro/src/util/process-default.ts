/**
 * One backend per process for everything that did not ask for its own (go-micro's
 * DefaultRegistry, DefaultBroker). Its users hold it while they run; when the last lets go it
 * is ended, so its connection does not keep a finished process alive. The backend itself
 * opens again on its next use.
 */
export interface ProcessDefault<T> {
  /** The backend, made on the first call. */
  get(): T;
  /** Holds it until the returned release is called (once; later calls do nothing). */
  hold(): () => Promise<void>;
}

export function processDefault<T>(make: () => T, end: (backend: T) => Promise<void>): ProcessDefault<T> {
  let shared: T | undefined;
  let holders = 0;
  return {
    get() {
      shared ??= make();
      return shared;
    },
    hold() {
      holders++;
      let released = false;
      return async () => {
        if (released) return;
        released = true;
        if (--holders === 0 && shared !== undefined) await end(shared);
      };
    },
  };
}

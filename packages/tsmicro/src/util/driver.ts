/**
 * Loading a backend package on first use (registry, broker): the core imports no driver,
 * so `MICRO_REGISTRY=etcd` resolves `@tsmicro/etcd` at run time. A package that is not
 * installed is a MicroError that says what to install; a failed load is retried on the
 * next use (the package may be installed meanwhile).
 */
import { Code, MicroError } from "../errors.js";

export interface DriverRequest {
  /** What chose it, for the message: `MICRO_REGISTRY=etcd`. */
  chosenBy: string;
  /** The package: `@tsmicro/etcd`. */
  specifier: string;
  /** The factory the package must export: `registryFromAddress`. */
  exportName: string;
  /** @default dynamic `import()` */
  load?: (specifier: string) => Promise<unknown>;
}

export async function importDriver<F extends (...args: never[]) => unknown>(req: DriverRequest): Promise<F> {
  const load = req.load ?? ((s: string) => import(s));
  let mod: unknown;
  try {
    mod = await load(req.specifier);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const missing =
      (e?.code === "ERR_MODULE_NOT_FOUND" || e?.code === "MODULE_NOT_FOUND") &&
      String(e.message).includes(req.specifier);
    throw new MicroError({
      id: "tsmicro",
      code: Code.InternalServerError,
      detail: missing
        ? `${req.chosenBy} needs the package ${req.specifier}, which is not installed: run npm install ${req.specifier}`
        : `could not load ${req.specifier} for ${req.chosenBy}: ${e?.message ?? String(err)}`,
      retryable: false,
      cause: err,
    });
  }
  const make = (mod as Record<string, unknown> | undefined)?.[req.exportName];
  if (typeof make !== "function") {
    throw new MicroError({
      id: "tsmicro",
      code: Code.InternalServerError,
      detail: `${req.specifier} does not export ${req.exportName}() (needed for ${req.chosenBy}); install a version of it that matches tsmicro`,
      retryable: false,
    });
  }
  return make as F;
}

/**
 * A backend made from a driver package on first use: what registryFromEnv, brokerFromEnv and
 * storeFromEnv return stands in front of one until then, and forwards to it after.
 */
export interface LazyBackend<T> {
  /** The backend: the package is imported and the backend made once; a failed import is tried again by the next call. */
  get(): Promise<T>;
  /** The backend once it is made (for its name or limits), else undefined. */
  readonly current: T | undefined;
  /**
   * Forgets the backend, so the next `get` loads and makes a new one, and ends the one there
   * was with `end` (close, disconnect). One that never loaded needs nothing ended.
   */
  reset(end: (backend: T) => Promise<void>): Promise<void>;
}

export function lazyBackend<F extends (...args: never[]) => unknown, T>(
  req: DriverRequest,
  make: (factory: F) => T,
): LazyBackend<T> {
  let inner: Promise<T> | undefined;
  let current: T | undefined;
  return {
    get() {
      if (inner !== undefined) return inner;
      const loading: Promise<T> = importDriver<F>(req).then(
        (factory) => {
          const made = make(factory);
          // Reset while loading: this one is being ended, so it is not the current one.
          if (inner === loading) current = made;
          return made;
        },
        (err: unknown) => {
          if (inner === loading) inner = undefined; // installed later? the next use tries again
          throw err;
        },
      );
      inner = loading;
      return loading;
    },
    get current() {
      return current;
    },
    async reset(end) {
      const b = inner;
      inner = undefined;
      current = undefined;
      if (b !== undefined) await b.then(end, () => {});
    },
  };
}

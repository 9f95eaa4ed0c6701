/** Endpoints from handler objects: each method of `new Greeter()` becomes `Greeter.method`. */
import type { Context } from "../context.js";
import type { Endpoint } from "../registry/registry.js";

export type Handler = (ctx: Context, request: any) => unknown;

export interface Route {
  readonly name: string;
  readonly handler: Handler;
  readonly endpoint: Endpoint;
}

export interface HandleOptions {
  /** Prefix of the endpoints. @default the object's class name */
  name?: string;
  /** Shapes shown by `describe` and the dashboard, by method name. */
  describe?: Record<string, { request?: unknown; response?: unknown }>;
}

export class Router {
  readonly #routes = new Map<string, Route>();
  #taken: (name: string) => boolean = () => false;

  /** Names served elsewhere (stream endpoints): a unary endpoint may not take them. */
  alsoTaken(taken: (name: string) => boolean): void {
    this.#taken = taken;
  }

  get(endpoint: string): Route | undefined {
    return this.#routes.get(endpoint);
  }

  /** Public endpoints, for the registry. */
  endpoints(): Endpoint[] {
    return [...this.#routes.values()].filter((r) => !r.name.startsWith("Debug.")).map((r) => r.endpoint);
  }

  names(): string[] {
    return [...this.#routes.keys()];
  }

  add(name: string, handler: Handler, endpoint: Endpoint = { name }): void {
    if (this.#routes.has(name) || this.#taken(name)) {
      throw new TypeError(`endpoint ${name} is already registered`);
    }
    this.#routes.set(name, { name, handler, endpoint });
  }

  addObject(obj: object, options: HandleOptions = {}): string[] {
    const prefix = options.name ?? obj.constructor?.name;
    if (!prefix || prefix === "Object") {
      throw new TypeError("handle(obj): give a class instance, or { name } for a plain object");
    }
    const added: string[] = [];
    for (const method of methodNames(obj)) {
      const fn = (obj as Record<string, unknown>)[method] as (...a: unknown[]) => unknown;
      const name = `${prefix}.${method}`;
      const shape = options.describe?.[method];
      this.add(name, (ctx, req) => fn.call(obj, ctx, req), { name, ...shape });
      added.push(name);
    }
    if (added.length === 0) throw new TypeError(`handle(${prefix}): the object has no methods to serve`);
    return added;
  }
}

/** Own and inherited methods, stopping at Object.prototype; skips the constructor and `_private` ones. */
function methodNames(obj: object): string[] {
  const names = new Set<string>();
  for (let p: object | null = obj; p !== null && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    for (const key of Object.getOwnPropertyNames(p)) {
      if (key === "constructor" || key.startsWith("_")) continue;
      if (typeof (obj as Record<string, unknown>)[key] === "function") names.add(key);
    }
  }
  return [...names];
}

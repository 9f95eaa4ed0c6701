/**
 * A config source: where settings come from (go-micro's `config/source`). Each source yields
 * whole snapshots, nested plain objects (`{ client: { retries: 3 } }`); `loadConfig` merges
 * them in order, later sources over earlier ones, and validates the result.
 */
export type ConfigValues = Record<string, unknown>;

export interface ConfigSource {
  /** Named in errors: `env (APP_)`, `file config.yaml`, `etcd /app/config/`. */
  readonly name: string;
  /** The source's values now. */
  load(signal?: AbortSignal): Promise<ConfigValues>;
  /**
   * New snapshots whenever the source changes, until `signal` aborts. Sources that do not
   * change (files read once, env, flags, defaults) leave it out.
   */
  watch?(signal: AbortSignal): AsyncIterable<ConfigValues>;
}

const isPlain = (v: unknown): v is ConfigValues =>
  typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);

/** Merges `over` onto `base`: objects key by key, anything else (arrays too) replaced. */
export function mergeValues(base: ConfigValues, over: ConfigValues): ConfigValues {
  const out: ConfigValues = { ...base };
  for (const [k, v] of Object.entries(over)) {
    out[k] = isPlain(v) && isPlain(out[k]) ? mergeValues(out[k] as ConfigValues, v) : v;
  }
  return out;
}

/** Every leaf path of `values` (`client.retries`), for telling which source set what. */
export function leafPaths(values: ConfigValues, prefix = ""): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(values)) {
    const p = prefix === "" ? k : `${prefix}.${k}`;
    if (isPlain(v) && Object.keys(v).length > 0) out.push(...leafPaths(v, p));
    else out.push(p);
  }
  return out;
}

/** Sets `value` at a dotted path, creating objects on the way. */
export function setPath(target: ConfigValues, path: readonly string[], value: unknown): void {
  let at = target;
  for (const seg of path.slice(0, -1)) {
    if (!isPlain(at[seg])) at[seg] = {};
    at = at[seg] as ConfigValues;
  }
  at[path.at(-1)!] = value;
}

/** A text value from env, flags or a KV store: JSON numbers, booleans, null, arrays and objects are parsed; anything else stays text. */
export function parseScalar(text: string): unknown {
  const t = text.trim();
  if (/^(-?\d+(\.\d+)?([eE][+-]?\d+)?|true|false|null)$/.test(t) || /^[[{]/.test(t)) {
    try {
      return JSON.parse(t);
    } catch {
      return text;
    }
  }
  return text;
}

/** `request-timeout-ms` and `REQUEST_TIMEOUT_MS` → `requestTimeoutMs`. */
export function camelCase(word: string): string {
  return word.toLowerCase().replace(/[-_]+([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

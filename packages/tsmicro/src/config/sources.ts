/**
 * The built-in config sources: defaults, files (JSON, or YAML through the optional `yaml`
 * package, imported only when a YAML file is read), environment variables with a prefix, and
 * command-line flags. Remote sources (etcd, NATS KV) live in their packages.
 */
import { readFile } from "node:fs/promises";
import { MicroError } from "../errors.js";
import { importDriver } from "../util/driver.js";
import { type ConfigSource, type ConfigValues, camelCase, parseScalar, setPath } from "./source.js";

/** Values given in code: the first source, so everything else overrides them. */
export function defaultsSource(values: ConfigValues): ConfigSource {
  return { name: "defaults", load: async () => structuredClone(values) };
}

export interface FileSourceOptions {
  /** @default by extension: .yaml/.yml → yaml, else json */
  format?: "json" | "yaml";
  /** A missing file is an empty source instead of an error. @default false */
  optional?: boolean;
  /** Imports the YAML parser; replace it to bundle. @default dynamic `import()` */
  load?: (specifier: string) => Promise<unknown>;
}

export function fileSource(path: string, options: FileSourceOptions = {}): ConfigSource {
  const format = options.format ?? (/\.ya?ml$/i.test(path) ? "yaml" : "json");
  const name = `file ${path}`;
  return {
    name,
    async load() {
      let text: string;
      try {
        text = await readFile(path, "utf8");
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT" && options.optional === true) return {};
        throw new MicroError({
          id: "tsmicro.config",
          code: 400,
          detail: `config ${name}: cannot read it: ${(err as Error).message}`,
          retryable: false,
          cause: err,
        });
      }
      let parsed: unknown;
      try {
        if (format === "yaml") {
          const parse = await importDriver<(text: string) => unknown>({
            chosenBy: `the YAML config file ${path}`,
            specifier: "yaml",
            exportName: "parse",
            ...(options.load === undefined ? {} : { load: options.load }),
          });
          parsed = parse(text);
        } else parsed = JSON.parse(text);
      } catch (err) {
        if (err instanceof MicroError) throw err;
        throw new MicroError({
          id: "tsmicro.config",
          code: 400,
          detail: `config ${name}: not valid ${format.toUpperCase()}: ${(err as Error).message}`,
          retryable: false,
          cause: err,
        });
      }
      if (parsed === null || parsed === undefined) return {};
      if (typeof parsed !== "object" || Array.isArray(parsed)) {
        throw new MicroError({
          id: "tsmicro.config",
          code: 400,
          detail: `config ${name}: the top level must be a mapping of keys, got ${Array.isArray(parsed) ? "a list" : typeof parsed}`,
          retryable: false,
        });
      }
      return parsed as ConfigValues;
    },
  };
}

export interface EnvSourceOptions {
  /** Only variables that start with it, which is then removed: `APP_`. */
  prefix: string;
  /** Separates levels: `APP_CLIENT__REQUEST_TIMEOUT_MS` → `client.requestTimeoutMs`. @default "__" */
  separator?: string;
  /** @default process.env */
  env?: NodeJS.ProcessEnv;
}

/** Environment variables: prefix removed, levels split on `__`, each level camelCased, values parsed (`3` is a number). */
export function envSource(options: EnvSourceOptions): ConfigSource {
  const sep = options.separator ?? "__";
  return {
    name: `env (${options.prefix}*)`,
    async load() {
      const out: ConfigValues = {};
      for (const [k, v] of Object.entries(options.env ?? process.env)) {
        if (v === undefined || !k.startsWith(options.prefix) || k.length === options.prefix.length) continue;
        setPath(out, k.slice(options.prefix.length).split(sep).map(camelCase), parseScalar(v));
      }
      return out;
    },
  };
}

export interface FlagSourceOptions {
  /** @default process.argv.slice(2) */
  argv?: readonly string[];
}

/**
 * Command-line flags: `--client.retries=3`, `--client.request-timeout-ms 500`, `--debug`
 * (true), `--no-debug` (false). Levels split on `.`, each camelCased; values parsed.
 * Arguments that are not flags are left alone.
 */
export function flagSource(options: FlagSourceOptions = {}): ConfigSource {
  return {
    name: "flags",
    async load() {
      const argv = options.argv ?? process.argv.slice(2);
      const out: ConfigValues = {};
      for (let i = 0; i < argv.length; i++) {
        const a = argv[i]!;
        if (!a.startsWith("--") || a === "--") continue;
        const eq = a.indexOf("=");
        let key = eq === -1 ? a.slice(2) : a.slice(2, eq);
        let value: unknown;
        if (eq !== -1) value = parseScalar(a.slice(eq + 1));
        else if (argv[i + 1] !== undefined && !argv[i + 1]!.startsWith("--")) value = parseScalar(argv[++i]!);
        else if (key.startsWith("no-")) {
          key = key.slice(3);
          value = false;
        } else value = true;
        setPath(out, key.split(".").map(camelCase), value);
      }
      return out;
    },
  };
}

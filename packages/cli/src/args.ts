/** Command-line parsing with node's own `util.parseArgs`: the global flags every command shares. */
import { parseArgs } from "node:util";

export class UsageError extends Error {
  override readonly name = "UsageError";
}

export interface Flags {
  registry: string | undefined;
  registryAddress: string | undefined;
  broker: string | undefined;
  brokerAddress: string | undefined;
  json: boolean;
  timeoutMs: number | undefined;
  metadata: Record<string, string>;
  address: string | undefined;
  help: boolean;
  /** `new`: the project template. */
  template: string | undefined;
  /** `new`: write the files only. */
  noInstall: boolean;
  /** `gen`: where generated files go. */
  outDir: string | undefined;
  /** `mcp`: the services and endpoints exposed as tools. */
  allow: string[];
  /** `mcp`: serve over Streamable HTTP instead of stdio. */
  http: boolean;
  /** `mcp --http`: the bearer token callers must send. */
  token: string | undefined;
}

export interface Parsed {
  command: string | undefined;
  args: string[];
  flags: Flags;
}

export function parse(argv: readonly string[]): Parsed {
  let parsed: ReturnType<typeof parseArgs<typeof config>>;
  const config = {
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      registry: { type: "string" },
      "registry-address": { type: "string" },
      broker: { type: "string" },
      "broker-address": { type: "string" },
      json: { type: "boolean", default: false },
      timeout: { type: "string", short: "t" },
      metadata: { type: "string", short: "m", multiple: true },
      address: { type: "string", short: "a" },
      help: { type: "boolean", short: "h", default: false },
      template: { type: "string" },
      "no-install": { type: "boolean", default: false },
      out: { type: "string" },
      allow: { type: "string", multiple: true },
      http: { type: "boolean", default: false },
      token: { type: "string" },
    },
  } as const;
  try {
    parsed = parseArgs(config);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const v = parsed.values;
  const [command, ...args] = parsed.positionals;
  return {
    command,
    args,
    flags: {
      registry: v.registry,
      registryAddress: v["registry-address"],
      broker: v.broker,
      brokerAddress: v["broker-address"],
      json: v.json ?? false,
      timeoutMs: v.timeout === undefined ? undefined : parseDuration(v.timeout),
      metadata: parseMetadata(v.metadata ?? []),
      address: v.address,
      help: v.help ?? false,
      template: v.template,
      noInstall: v["no-install"] ?? false,
      outDir: v.out,
      allow: (v.allow ?? [])
        .flatMap((a) => a.split(","))
        .map((a) => a.trim())
        .filter(Boolean),
      http: v.http ?? false,
      token: v.token,
    },
  };
}

/** `500`, `500ms`, `2s`, `1m` → milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (m === null || Number(m[1]) <= 0) {
    throw new UsageError(`--timeout must be a positive duration such as 500, 500ms, 2s or 1m, got "${text}"`);
  }
  const n = Number(m[1]);
  return Math.ceil(m[2] === "s" ? n * 1000 : m[2] === "m" ? n * 60_000 : n);
}

function parseMetadata(pairs: readonly string[]): Record<string, string> {
  const md: Record<string, string> = {};
  for (const p of pairs) {
    const i = p.indexOf("=");
    if (i <= 0) throw new UsageError(`--metadata takes key=value, got "${p}"`);
    md[p.slice(0, i).trim().toLowerCase()] = p.slice(i + 1);
  }
  return md;
}

/** The JSON argument of `call`, `publish` and `stream`; a usage error that quotes the parser when bad. */
export function parseJsonArg(text: string | undefined, what: string): unknown {
  if (text === undefined) return {};
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${what} is not valid JSON (${(err as Error).message}): ${text}`);
  }
}

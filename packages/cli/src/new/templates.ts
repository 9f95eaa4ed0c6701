/**
 * What `tsmicro new` writes: a TypeScript service with a typed contract, its test, a README,
 * a tsconfig and a `tsmicro.json` manifest for `tsmicro run`. Pure functions of the options,
 * so the files are easy to read here and to test.
 */

export const TEMPLATES = ["basic", "contract", "protobuf"] as const;
export type Template = (typeof TEMPLATES)[number];

export interface ProjectOptions {
  /** npm package and service name, e.g. `shop`. */
  name: string;
  template: Template;
  /** The tsmicro version to depend on (the CLI's own). */
  version: string;
}

/** Tool versions the project is tested with (the repository's own). */
const TOOLS = {
  tsx: "^4.23.15",
  typescript: "~5.9.3",
  "@types/node": "^20.19.43",
  zod: "^4.6.7",
  "@bufbuild/protobuf": "^2.10.0",
} as const;

/** `shop` → `Shop`, `order-book` → `OrderBook`. */
export function pascal(name: string): string {
  return name
    .split(/[^a-zA-Z0-9]+/)
    .filter(Boolean)
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join("");
}

export function projectFiles(o: ProjectOptions): Record<string, string> {
  const files: Record<string, string> = {
    "package.json": packageJson(o),
    "tsconfig.json": tsconfig(),
    "tsmicro.json": `${JSON.stringify({ services: { [o.name]: { entry: "src/main.ts", watch: ["src"] } } }, null, 2)}\n`,
    ".gitignore": "node_modules\ndist\n",
    "README.md": readme(o),
    "src/main.ts": main(o),
    "src/handlers.ts": handlers(o),
    [`test/${o.name}.test.ts`]: test(o),
  };
  if (o.template === "protobuf") {
    files[`proto/${o.name.replace(/-/g, "_")}.proto`] = proto(o);
    // src/gen/ and src/contract.ts come from `tsmicro gen` (run by `new`, and by `npm run gen`).
  } else {
    files["src/contract.ts"] = contract(o);
  }
  return files;
}

function packageJson(o: ProjectOptions): string {
  const dependencies: Record<string, string> = { tsmicro: `^${o.version}`, tsx: TOOLS.tsx };
  if (o.template === "contract") dependencies.zod = TOOLS.zod;
  if (o.template === "protobuf") {
    dependencies["@tsmicro/protobuf"] = `^${o.version}`;
    dependencies["@bufbuild/protobuf"] = TOOLS["@bufbuild/protobuf"];
  }
  const scripts: Record<string, string> = {
    start: "tsx src/main.ts",
    dev: "tsmicro run",
    test: `node --import tsx --test test/${o.name}.test.ts`,
    typecheck: "tsc --noEmit",
  };
  if (o.template === "protobuf")
    scripts.gen = `tsmicro gen proto/${o.name.replace(/-/g, "_")}.proto --out src`;
  const pkg = {
    name: o.name,
    version: "0.1.0",
    private: true,
    // The tsmicro packages are ESM-only: a "commonjs" project cannot import them (TS1309, ERR_REQUIRE_ESM).
    type: "module",
    engines: { node: ">=20" },
    scripts,
    dependencies,
    devDependencies: {
      "@tsmicro/cli": `^${o.version}`,
      "@types/node": TOOLS["@types/node"],
      typescript: TOOLS.typescript,
    },
  };
  return `${JSON.stringify(pkg, null, 2)}\n`;
}

function tsconfig(): string {
  const config = {
    compilerOptions: {
      target: "ES2022",
      module: "NodeNext",
      moduleResolution: "NodeNext",
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      types: ["node"],
    },
    include: ["src", "test"],
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}

function contract(o: ProjectOptions): string {
  const C = pascal(o.name);
  if (o.template === "contract") {
    return `// The ${o.name} service's API, defined once: the server implements it, clients get a typed proxy.
// The schemas (zod, or any Standard Schema library) validate every request and response.
import { defineContract, unary } from "tsmicro";
import { z } from "zod";

export const ${C} = defineContract("${C}", {
  /** Greets someone by name. */
  hello: unary({
    request: z.object({ name: z.string().min(1) }),
    response: z.object({ message: z.string() }),
  }),
});
`;
  }
  return `// The ${o.name} service's API, defined once: the server implements it, clients get a typed proxy.
import { defineContract, unary } from "tsmicro";

export interface HelloRequest {
  name: string;
}

export interface HelloResponse {
  message: string;
}

export const ${C} = defineContract("${C}", {
  /** Greets someone by name. */
  hello: unary<HelloRequest, HelloResponse>(),
});
`;
}

function handlers(o: ProjectOptions): string {
  const C = pascal(o.name);
  if (o.template === "protobuf") {
    return `// The handlers: \`implement\` checks them against the contract generated from the .proto.
import { create } from "@bufbuild/protobuf";
import { implement } from "tsmicro";
import { ${C}Contract } from "./contract.js";
import { HelloResponseSchema } from "./gen/${o.name.replace(/-/g, "_")}_pb.js";

export const handlers = implement(${C}Contract, {
  async hello(_ctx, req) {
    return create(HelloResponseSchema, { message: \`Hello \${req.name}\` });
  },
});
`;
  }
  return `// The handlers: \`implement\` checks them against the contract at compile time and at start.
import { badRequest, implement } from "tsmicro";
import { ${C} } from "./contract.js";

export const handlers = implement(${C}, {
  async hello(_ctx, req) {
    if (req.name === "") throw badRequest("${o.name}", "name is required");
    return { message: \`Hello \${req.name}\` };
  },
});
`;
}

function main(o: ProjectOptions): string {
  const pb = o.template === "protobuf";
  return `// Starts the ${o.name} service: registers it (the local registry by default: no server to run),
// serves until Ctrl-C, then deregisters and drains.
${pb ? 'import { withProtobuf } from "@tsmicro/protobuf";\n' : ""}import { newService } from "tsmicro";
import { handlers } from "./handlers.js";

const service = newService({ name: "${o.name}", version: "0.1.0"${pb ? ", codecs: withProtobuf()" : ""} });
service.handle(handlers);
await service.run();
`;
}

function test(o: ProjectOptions): string {
  const C = pascal(o.name);
  const pb = o.template === "protobuf";
  const contractImport = pb
    ? `import { create } from "@bufbuild/protobuf";\nimport { withProtobuf } from "@tsmicro/protobuf";\nimport { ${C}Contract as ${C} } from "../src/contract.js";\nimport { HelloRequestSchema } from "../src/gen/${o.name.replace(/-/g, "_")}_pb.js";`
    : `import { ${C} } from "../src/contract.js";`;
  const codecs = pb ? ", codecs: withProtobuf()" : "";
  return `// A real server and a real client in one process, on an in-memory registry.
import assert from "node:assert/strict";
import { test } from "node:test";
import { background, createMemoryRegistry, newClient, newService, withTimeout } from "tsmicro";
${contractImport}
import { handlers } from "../src/handlers.js";

test("${C}.hello answers through the typed client", async () => {
  const registry = createMemoryRegistry();
  const service = newService({ name: "${o.name}", registry${codecs}, log: () => {} });
  service.handle(handlers);
  await service.start();
  const client = newClient({ registry${codecs} });
  try {
    const ${o.name.replace(/-(.)/g, (_, c: string) => c.toUpperCase())} = client.service(${C}, "${o.name}");
    const rsp = await ${o.name.replace(/-(.)/g, (_, c: string) => c.toUpperCase())}.hello(withTimeout(background(), 5000), ${pb ? 'create(HelloRequestSchema, { name: "Ada" })' : '{ name: "Ada" }'});
    assert.equal(rsp.message, "Hello Ada");
  } finally {
    await client.close();
    await service.stop();
  }
});
`;
}

function proto(o: ProjectOptions): string {
  const C = pascal(o.name);
  return `syntax = "proto3";

package ${o.name.replace(/-/g, "_")}.v1;

// The ${o.name} service.
service ${C} {
  // Greets someone by name.
  rpc Hello(HelloRequest) returns (HelloResponse);
}

message HelloRequest {
  string name = 1;
}

message HelloResponse {
  string message = 1;
}
`;
}

function readme(o: ProjectOptions): string {
  const C = pascal(o.name);
  const defined =
    o.template === "protobuf"
      ? `\`proto/${o.name.replace(/-/g, "_")}.proto\` defines the API; \`npm run gen\` (\`tsmicro gen\`) turns it into
\`src/gen/\` (protobuf-es) and \`src/contract.ts\` (a tsmicro contract with a typed client).`
      : `\`src/contract.ts\` defines the API (\`${C}.hello\`) once, for the server and for typed clients.`;
  return `# ${o.name}

A [tsmicro](https://github.com/tsmicro/tsmicro) service, written by \`tsmicro new ${o.name} --template ${o.template}\`.

\`\`\`sh
npm start          # runs the service (tsx src/main.ts); Ctrl-C stops it
npm test           # a real client calls a real server, in one process
npm run dev        # tsmicro run: every service in tsmicro.json, restarted on change, with the gateway and dashboard
\`\`\`

While it runs, from another terminal:

\`\`\`sh
npx tsmicro services                                  # ${o.name} is registered
npx tsmicro call ${o.name} ${C}.hello '{"name":"Ada"}'   # {"message":"Hello Ada"}
\`\`\`

## Layout

- ${defined}
- \`src/handlers.ts\` implements it; \`src/main.ts\` starts the service.
- \`test/${o.name}.test.ts\` starts the service on an in-memory registry and calls it.
- \`tsmicro.json\` lists the services \`tsmicro run\` starts (add more as you write them).

The packages are ESM-only: keep \`"type": "module"\` in package.json (a CommonJS project fails
to import them, with TypeScript error TS1309).
`;
}

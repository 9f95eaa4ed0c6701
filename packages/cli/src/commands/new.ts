/**
 * `tsmicro new <name> [--template basic|contract|protobuf] [--no-install]`: writes a ready
 * project into ./<name>, then installs its dependencies with npm unless they already resolve
 * from there (inside a workspace that has tsmicro) or --no-install is given.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { MicroError } from "tsmicro";
import { UsageError } from "../args.js";
import type { Command } from "../context.js";
import { pascal, projectFiles, TEMPLATES, type Template } from "../new/templates.js";

/** The CLI's own version: the project depends on the same tsmicro release. */
function cliVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
  return pkg.version as string;
}

/** Whether every dependency of the project already resolves from `dir` (a workspace, a sandbox). */
function resolvable(dir: string, names: readonly string[]): boolean {
  const req = createRequire(join(dir, "package.json"));
  return names.every((n) => {
    try {
      req.resolve(n);
      return true;
    } catch (err) {
      // Found, but with no "." export for require (an ESM-only or types-only package).
      return (err as NodeJS.ErrnoException).code === "ERR_PACKAGE_PATH_NOT_EXPORTED";
    }
  });
}

function npm(args: readonly string[], cwd: string): Promise<void> {
  return new Promise((ok, fail) => {
    // npm's own output goes to stderr: stdout stays this command's result.
    const child = spawn(process.platform === "win32" ? "npm.cmd" : "npm", args, {
      cwd,
      stdio: ["ignore", process.stderr, process.stderr],
    });
    child.once("error", fail);
    child.once("exit", (code) =>
      code === 0
        ? ok()
        : fail(
            new MicroError({
              id: "tsmicro",
              code: 500,
              detail: `npm ${args.join(" ")} in ${cwd} exited with ${code}; the files are written, fix and run it again`,
            }),
          ),
    );
  });
}

export const newProject: Command = {
  usage: "new <name> [--template basic|contract|protobuf]",
  summary: "write a ready TypeScript service project into ./<name> and install it (--no-install skips npm)",
  minArgs: 1,
  maxArgs: 1,
  async run({ args, flags, out }) {
    const name = args[0]!;
    if (!/^[a-z][a-z0-9-]*$/.test(name) || pascal(name) === "") {
      throw new UsageError(
        `the name becomes the npm package and service name: lower-case letters, digits and -, got "${name}"`,
      );
    }
    const template = (flags.template ?? "basic") as Template;
    if (!TEMPLATES.includes(template)) {
      throw new UsageError(`--template must be one of ${TEMPLATES.join(", ")}, got "${flags.template}"`);
    }
    const dir = resolve(name);
    if (existsSync(dir) && readdirSync(dir).length > 0) {
      throw new UsageError(`${dir} exists and is not empty; choose another name or remove it`);
    }
    const files = projectFiles({ name, template, version: cliVersion() });
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    // What npm start and npm run dev need; typescript and @types/node only serve the typecheck.
    const deps = [...Object.keys(JSON.parse(files["package.json"]!).dependencies), "@tsmicro/cli"];
    let installed = "skipped (--no-install)";
    if (!flags.noInstall) {
      if (resolvable(dir, deps))
        installed = "not needed: the dependencies resolve from the enclosing directory";
      else {
        await npm(["install", "--no-audit", "--no-fund"], dir);
        installed = "done";
      }
    }
    // Generation needs only the CLI's own buf and protoc-gen-es, not the project's packages.
    if (template === "protobuf") {
      const { generate } = await import("../gen/generate.js");
      await generate({
        protos: [join(dir, "proto", `${name.replace(/-/g, "_")}.proto`)],
        out: join(dir, "src"),
      });
    }
    if (out.json) out.data({ dir, template, files: Object.keys(files).sort(), install: installed });
    else {
      out.line(
        `created ${name}/ (template ${template}): ${Object.keys(files).length} files; npm install: ${installed}`,
      );
      out.line("");
      out.line(`  cd ${name} && npm start     # run it (Ctrl-C stops)`);
      out.line(`  npm test                # its test`);
      out.line(`  npm run dev             # tsmicro run: restart on change, gateway and dashboard`);
    }
    return 0;
  },
};

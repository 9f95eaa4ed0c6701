/**
 * Test helpers for what a user gets from npm: `npm pack` of workspace packages (tarballs, as
 * published), and npm run in a directory outside the repository. No registry publish: projects
 * install the tarballs by path; third-party dependencies come from npm (its cache first).
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const ROOT = new URL("../../../", import.meta.url).pathname;

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** This process's environment without the test runner's marker (a nested `node --test` would report to us, not print). */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  delete env.NODE_TEST_CONTEXT;
  return env;
}

/** Runs `file args` in `cwd` to completion, bounded by `timeoutMs`. */
export function exec(
  file: string,
  args: readonly string[],
  cwd: string,
  timeoutMs: number,
  env: NodeJS.ProcessEnv = cleanEnv(),
): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd, env, timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === "number" ? err.code : null;
      resolve({ code, stdout, stderr: err !== null && code === null ? `${stderr}\n${err.message}` : stderr });
    });
  });
}

/** npm, with the output a failed assertion needs. */
export async function npm(
  args: readonly string[],
  cwd: string,
  timeoutMs = 240_000,
  env?: NodeJS.ProcessEnv,
): Promise<Run> {
  return exec("npm", args, cwd, timeoutMs, env);
}

/** Installs without audit or fund chatter, from npm's cache when it has the package. */
export const INSTALL = [
  "install",
  "--prefer-offline",
  "--no-audit",
  "--no-fund",
  "--loglevel=error",
] as const;

/** `npm pack` of the workspace packages in `dirs` (e.g. "tsmicro", "cli"): the tarball paths. */
export async function pack(dirs: readonly string[]): Promise<string[]> {
  const dest = mkdtempSync(join(tmpdir(), "tsmicro-pack-"));
  const args = [
    "pack",
    "--pack-destination",
    dest,
    "--loglevel=error",
    ...dirs.flatMap((d) => ["-w", `packages/${d}`]),
  ];
  const r = await npm(args, ROOT, 240_000);
  if (r.code !== 0) throw new Error(`npm ${args.join(" ")} failed (${r.code}): ${r.stderr}`);
  return readdirSync(dest)
    .filter((f) => f.endsWith(".tgz"))
    .map((f) => join(dest, f));
}

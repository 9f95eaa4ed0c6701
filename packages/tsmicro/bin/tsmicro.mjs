#!/usr/bin/env node
// `tsmicro` (and `npx tsmicro new shop`): the command line lives in @tsmicro/cli, kept out of the
// core so that installing the core installs no tools. This launcher runs the installed CLI (from
// the current project, else beside the core), or else the same version through `npm exec`.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

const args = process.argv.slice(2);
let entry;
for (const from of [`${process.cwd()}/package.json`, import.meta.url]) {
  try {
    entry = createRequire(from).resolve("@tsmicro/cli");
    break;
  } catch {}
}
if (entry !== undefined) {
  const { main } = await import(pathToFileURL(entry).href);
  process.exitCode = await main(args);
} else {
  const { version } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  const r = spawnSync(
    npm,
    ["exec", "--yes", `--package=@tsmicro/cli@${version}`, "--", "tsmicro-cli", ...args],
    {
      stdio: "inherit",
    },
  );
  process.exitCode = r.status ?? 1;
}

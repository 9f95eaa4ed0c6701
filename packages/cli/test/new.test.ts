/**
 * `tsmicro new` end to end: the project it writes is installed outside the repository with the
 * workspace packages as tarballs (as npm would install them once published), and its own
 * `npm test` and `npm run typecheck` pass.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { BIN } from "./helpers.js";
import { exec, INSTALL, npm, pack } from "./pack.js";

let tarballs: string[];
let dir: string;
before(async () => {
  tarballs = await pack(["tsmicro", "cli", "gateway", "metrics", "auth", "protobuf"]);
  dir = mkdtempSync(join(tmpdir(), "tsmicro-new-"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

for (const template of ["basic", "contract", "protobuf"] as const) {
  test(`new --template ${template}: install with the packed packages, then its npm test and typecheck pass`, async () => {
    const name = `shop-${template}`;
    const made = await exec(
      process.execPath,
      [BIN, "new", name, "--template", template, "--no-install"],
      dir,
      30_000,
    );
    assert.equal(made.code, 0, made.stderr);
    assert.match(made.stdout, new RegExp(`created ${name}/ \\(template ${template}\\)`));
    const project = join(dir, name);
    for (const f of [
      "package.json",
      "tsconfig.json",
      "tsmicro.json",
      "README.md",
      "src/contract.ts",
      "src/handlers.ts",
      "src/main.ts",
      `test/${name}.test.ts`,
    ]) {
      assert.ok(existsSync(join(project, f)), `${f} was written`);
    }
    const pkg = JSON.parse(readFileSync(join(project, "package.json"), "utf8"));
    assert.deepEqual(
      Object.keys(pkg.scripts).sort(),
      template === "protobuf"
        ? ["dev", "gen", "start", "test", "typecheck"]
        : ["dev", "start", "test", "typecheck"],
    );
    assert.equal(pkg.type, "module");

    const installed = await npm([...INSTALL, ...tarballs], project);
    assert.equal(installed.code, 0, `npm install: ${installed.stderr}`);
    const tested = await npm(["test"], project, 120_000);
    assert.equal(tested.code, 0, `npm test: ${tested.stdout}\n${tested.stderr}`);
    assert.match(tested.stdout, /# pass 1\b/);
    assert.match(tested.stdout, /# fail 0\b/);
    const typed = await npm(["run", "typecheck"], project, 120_000);
    assert.equal(typed.code, 0, `npm run typecheck: ${typed.stdout}\n${typed.stderr}`);
  });
}

test("new refuses a bad name, an unknown template and a non-empty directory, with exit 2", async () => {
  for (const [args, pattern] of [
    [["new", "Bad_Name"], /lower-case letters, digits and -/],
    [["new", "ok", "--template", "nope"], /--template must be one of basic, contract, protobuf/],
  ] as const) {
    const r = await exec(process.execPath, [BIN, ...args, "--no-install"], dir, 30_000);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, pattern);
  }
  const first = await exec(process.execPath, [BIN, "new", "twice", "--no-install"], dir, 30_000);
  assert.equal(first.code, 0, first.stderr);
  const again = await exec(process.execPath, [BIN, "new", "twice", "--no-install"], dir, 30_000);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /exists and is not empty/);
});

// The ten-line examples of the platform packages' READMEs (issue 18) run as written: each
// ```ts block after a `<!-- example: expects "..." -->` marker is written to a file inside its
// package (so its imports resolve as a user's would, to the built packages) and run with tsx;
// it must exit 0 and print what the marker says.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { startEtcd } from "../packages/etcd/src/testing/index.js";

// The etcd example needs a server: a private one on free ports, as every etcd test.
const etcd = await startEtcd();
after(() => etcd.stop());

const root = join(import.meta.dirname, "..");
const READMES = [
  "packages/tsmicro/src/store/README.md",
  "packages/tsmicro/src/config/README.md",
  "packages/tsmicro/src/cache/README.md",
  "packages/sqlite/README.md",
  "packages/postgres/README.md",
  "packages/redis/README.md",
  "packages/nats/README.md",
  "packages/etcd/README.md",
];

describe("README examples run", () => {
  for (const readme of READMES) {
    const text = readFileSync(join(root, readme), "utf8");
    const blocks = [...text.matchAll(/<!-- example: expects "([^"]+)" -->\s*```ts\n([\s\S]*?)```/g)];
    it(`${readme}: has an example`, () => assert.ok(blocks.length > 0, "no marked example"));
    blocks.forEach(([, expects, code], i) => {
      it(`${readme} example ${i + 1} prints ${JSON.stringify(expects)}`, { timeout: 60_000 }, () => {
        const lines = code!.trim().split("\n").length;
        assert.ok(lines <= 12, `${lines} lines: the example should stay about ten lines`);
        // Beside the README's package.json, so `tsmicro` and the package resolve as for a user.
        const dir = readme.startsWith("packages/tsmicro/")
          ? "packages/tsmicro"
          : readme.split("/").slice(0, 2).join("/");
        const file = join(root, dir, `.readme-example-${process.pid}-${i}.mts`);
        writeFileSync(file, code!);
        try {
          const r = spawnSync(process.execPath, ["--import", "tsx", file], {
            cwd: join(root, dir),
            encoding: "utf8",
            timeout: 50_000,
            env: { ...process.env, ETCD_ENDPOINT: etcd.endpoint },
          });
          assert.equal(r.status, 0, `exit ${r.status}: ${r.stderr}`);
          assert.ok(
            r.stdout.includes(expects!),
            `stdout ${JSON.stringify(r.stdout)} lacks ${JSON.stringify(expects)}`,
          );
        } finally {
          rmSync(file, { force: true });
        }
      });
    });
  }
});

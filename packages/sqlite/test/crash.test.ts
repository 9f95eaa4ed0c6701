// The file store's restart: a writer process is killed with SIGKILL mid-write; reopening the
// file must show every write the writer saw acknowledged.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, it } from "node:test";
import { createFileStore } from "../src/index.js";

const dir = mkdtempSync(join(tmpdir(), "tsmicro-sqlite-crash-"));
after(() => rmSync(dir, { recursive: true, force: true }));

it("file store: a writer killed with SIGKILL loses no acknowledged write (reopened twice)", {
  timeout: 60_000,
}, async () => {
  const path = join(dir, "crash.db");
  const acked: string[] = [];
  for (let round = 0; round < 2; round++) {
    const table = `crash${round}`;
    const child = spawn(
      process.execPath,
      ["--import", "tsx", join(import.meta.dirname, "crash-writer.ts"), path, table],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let err = "";
    child.stderr.on("data", (d) => {
      err += d;
    });
    const seen: string[] = [];
    let partial = "";
    const enough = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`writer acknowledged only ${seen.length} writes in 30 s: ${err}`)),
        30_000,
      );
      child.stdout.on("data", (d: Buffer) => {
        const lines = (partial + d.toString()).split("\n");
        partial = lines.pop()!;
        seen.push(...lines);
        if (seen.length >= 2000) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once("exit", (code) => reject(new Error(`writer exited (${code}) early: ${err}`)));
    });
    const exited = new Promise((r) => child.once("exit", r));
    try {
      await enough;
    } finally {
      child.kill("SIGKILL"); // also when the wait failed: never leave the writer running
      await exited;
    }
    // Lines read after the kill were acknowledged too.
    const lines = `${partial}`.split("\n").filter((l) => /^k\d+$/.test(l));
    seen.push(...lines);
    const store = createFileStore({ path });
    const keys = new Set(await store.list({ table }));
    const lost = seen.filter((k) => !keys.has(k));
    assert.deepEqual(lost.slice(0, 5), [], `${lost.length} of ${seen.length} acknowledged writes lost`);
    const [last] = await store.read(seen.at(-1)!, { table });
    assert.equal(new TextDecoder().decode(last!.value), `value ${seen.at(-1)!.slice(1)}`);
    acked.push(...seen);
    await store.close();
  }
  assert.ok(acked.length >= 4000);
});

// A child process for crash.test.ts: writes records as fast as it can and prints each key
// once its write was acknowledged, until it is killed.
import { createFileStore } from "../src/index.js";

const [path, table] = process.argv.slice(2) as [string, string];
const store = createFileStore({ path });
for (let i = 0; ; i++) {
  const key = `k${i}`;
  await store.write(
    { key, value: new TextEncoder().encode(`value ${i}`), metadata: { i: String(i) } },
    { table },
  );
  process.stdout.write(`${key}\n`);
  // The store answers without I/O: give the event loop a turn, or stdout (a pipe) never drains.
  await new Promise((r) => setImmediate(r));
}

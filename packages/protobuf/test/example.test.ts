/** examples/protobuf runs: its protoc-gen-es service is served and called over TCP and gRPC. */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const main = fileURLToPath(new URL("../../../examples/protobuf/main.mjs", import.meta.url));

test("examples/protobuf serves and calls the generated Greeter over TCP and gRPC", async () => {
  const { stdout } = await promisify(execFile)(process.execPath, [main], { timeout: 30_000 });
  for (const transport of ["tcp", "grpc"]) {
    assert.match(stdout, new RegExp(`\\[${transport}\\] sayHello: hello Ada\\n`));
    assert.match(stdout, new RegExp(`\\[${transport}\\] sayHellos: hello Bob #3\\n`));
    assert.match(stdout, new RegExp(`\\[${transport}\\] collectNames: hello Cy and Di \\(2\\)\\n`));
    assert.match(stdout, new RegExp(`\\[${transport}\\] chat: hi Eve\\n`));
  }
});

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";
import { createHttpBroker } from "../src/broker/http.js";
import { createMemoryBroker } from "../src/broker/memory.js";
import { createLocalRegistry } from "../src/registry/local.js";
import { brokerConformance } from "../src/testing/broker-conformance.js";

// Memory brokers are per instance: every role shares one, as goroutines share go-micro's.
const memory = createMemoryBroker();
brokerConformance("memory", { create: () => memory, durable: false });

// HTTP: each role its own broker and its own handle on one local registry directory, as
// separate processes on one host would be.
const dir = mkdtempSync(join(tmpdir(), "tsmicro-broker-"));
after(() => rmSync(dir, { recursive: true, force: true }));
brokerConformance("http", {
  create: () => createHttpBroker({ registry: createLocalRegistry({ dir, pollMs: 100 }) }),
  durable: false,
});

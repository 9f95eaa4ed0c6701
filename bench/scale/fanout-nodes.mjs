// The fan-out bench's nodes: `listeners` TCP listeners on 127.0.0.1 (tsmicro's transport, each
// its own port: one per registered node), each answering any request with its body.
import { createTcpTransport } from "tsmicro/plugin";
import { childConfig, report } from "../lib/stats.mjs";
import { serveJobs } from "./child.mjs";

const { listeners } = childConfig();
const transport = createTcpTransport({ log: () => {} });
const echo = (inbound) => inbound.respond({ contentType: inbound.headers.contentType, body: inbound.body });
const bound = [];
for (let i = 0; i < listeners; i += 100) {
  const n = Math.min(100, listeners - i);
  bound.push(...(await Promise.all(Array.from({ length: n }, () => transport.listen("127.0.0.1:0", echo)))));
}
report({ type: "ready", addresses: bound.map((l) => l.address) });
await serveJobs({}, report, () => Promise.all(bound.map((l) => l.close())));

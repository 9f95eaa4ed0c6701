import { notFound } from "tsmicro";
import type { Command } from "../context.js";

const shape = (v: unknown) => (v === undefined ? "-" : JSON.stringify(v));

export const describe: Command = {
  usage: "describe <service>",
  summary: "show a service's versions, nodes and endpoints with their request and response shapes",
  minArgs: 1,
  maxArgs: 1,
  async run({ args, out, registry }) {
    const name = args[0]!;
    const reg = await registry();
    const versions = await out.spin(`looking up ${name}`, reg.getService(name));
    if (versions.length === 0) throw notFound(name, `service "${name}" is not registered in ${reg.name}`);
    if (out.json) {
      out.data(versions);
      return 0;
    }
    for (const [i, v] of versions.entries()) {
      if (i > 0) out.line();
      const md = Object.keys(v.metadata).length > 0 ? `  metadata ${JSON.stringify(v.metadata)}` : "";
      out.line(`${v.name} ${v.version}${md}`);
      out.line();
      out.table(
        ["NODE", "ADDRESS", "METADATA"],
        v.nodes.map((n) => [n.id, n.address, JSON.stringify(n.metadata)]),
      );
      out.line();
      if (v.endpoints.length === 0) out.line("no endpoints");
      else
        out.table(
          ["ENDPOINT", "REQUEST", "RESPONSE"],
          v.endpoints.map((e) => [e.name, shape(e.request), shape(e.response)]),
        );
    }
    return 0;
  },
};

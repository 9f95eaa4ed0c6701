import type { Command } from "../context.js";

export const services: Command = {
  usage: "services",
  summary: "list the registered services, their versions and nodes",
  minArgs: 0,
  maxArgs: 0,
  async run({ out, registry }) {
    const reg = await registry();
    const list = (await out.spin(`listing services in ${reg.name}`, reg.listServices())).sort(
      (a, b) => a.name.localeCompare(b.name) || a.version.localeCompare(b.version),
    );
    if (out.json) {
      out.data(list);
      return 0;
    }
    if (list.length === 0) {
      out.line(`no services registered in ${reg.name}`);
      return 0;
    }
    out.table(
      ["SERVICE", "VERSION", "NODES", "ENDPOINTS"],
      list.map((s) => [s.name, s.version, String(s.nodes.length), String(s.endpoints.length)]),
    );
    return 0;
  },
};

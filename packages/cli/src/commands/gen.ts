import type { Command } from "../context.js";
import { generate } from "../gen/generate.js";

export const gen: Command = {
  usage: "gen <file.proto> ... [--out dir]",
  summary:
    "generate protobuf-es code (gen/) and a tsmicro contract with typed clients (contract.ts) in --out (default .)",
  minArgs: 1,
  maxArgs: Number.POSITIVE_INFINITY,
  async run({ args, flags, out }) {
    const r = await out.spin(
      "generating",
      generate({ protos: args, ...(flags.outDir === undefined ? {} : { out: flags.outDir }) }),
    );
    if (out.json) out.data(r);
    else {
      for (const f of r.files) out.line(`wrote ${f}`);
      out.line(`services: ${r.services.join(", ") || "none"}`);
    }
    return 0;
  },
};

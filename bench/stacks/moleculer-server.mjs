// moleculer 0.14 echo service on the TCP transporter, confined to 127.0.0.1 (see lib/moleculer-loopback.mjs).
import moleculer from "moleculer";
import { brokerOptions } from "../lib/moleculer-loopback.mjs";
import { exitWithParent, report } from "../lib/stats.mjs";

const broker = new moleculer.ServiceBroker(brokerOptions("bench-server", { port: 0 }));
broker.createService({ name: "echo", actions: { echo: (ctx) => ctx.params } });
await broker.start();
report({ type: "ready", address: `127.0.0.1:${broker.transit.tx.reader.server.address().port}` });
exitWithParent(() => broker.stop());

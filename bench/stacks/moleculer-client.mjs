// moleculer 0.14 load generator: a broker node that knows the server node by a static 127.0.0.1 URL.
import moleculer from "moleculer";
import { brokerOptions } from "../lib/moleculer-loopback.mjs";
import { payloadJson, runClient } from "../lib/stats.mjs";

runClient(async ({ address }) => {
  const broker = new moleculer.ServiceBroker(
    brokerOptions(`bench-client-${process.pid}`, { port: 0, urls: [`${address}/bench-server`] }),
  );
  await broker.start();
  await broker.waitForServices("echo", 10_000);
  const makeCall = (size) => {
    const body = payloadJson(size);
    return async () => {
      const rsp = await broker.call("echo.echo", body);
      if (rsp.data.length !== size) throw new Error("moleculer: wrong echo size");
    };
  };
  return { makeCall, close: () => broker.stop() };
});

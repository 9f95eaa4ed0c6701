// examples/greeter/client.mjs — finds "greeter" through the local registry and calls it.
// Run: node examples/greeter/client.mjs Ada
import { background, defaultClient, MicroError, newRequest, withTimeout } from "tsmicro";

const ctx = withTimeout(background(), 2000);
try {
  const rsp = await defaultClient.call(
    ctx,
    newRequest("greeter", "Greeter.Hello", { name: process.argv[2] ?? "world" }),
  );
  console.log(rsp.msg);
} catch (err) {
  if (!(err instanceof MicroError)) throw err;
  console.error(`${err.code} ${err.status}: ${err.detail}`);
  process.exitCode = 1;
} finally {
  await defaultClient.close();
}

// Raw bytes echo (the old "raw" row): a length-prefixed node:net echo server. Each frame is copied
// and written back with its request id, nothing parsed; writes of one chunk batched with cork/uncork.
import net from "node:net";
import { frameReader } from "../lib/frames.mjs";
import { exitWithParent, report } from "../lib/stats.mjs";

const server = net.createServer((socket) => {
  socket.setNoDelay(true);
  const read = frameReader((frame) => socket.write(Buffer.from(frame)));
  socket.on("data", (chunk) => {
    socket.cork();
    read(chunk);
    socket.uncork();
  });
  socket.on("error", () => socket.destroy());
});

server.listen(0, "127.0.0.1", () => {
  const { address, port } = server.address();
  report({ type: "ready", address: `${address}:${port}` });
});
exitWithParent(() => server.close());

// The limit: the least an RPC server must do. One length-prefixed frame per request
// ([u32 length][u32 request id][JSON]); the body is JSON.parse'd, the answer JSON.stringify'd,
// and replies are coalesced (at most 16 frames per socket write, the rest at the end of the tick).
import net from "node:net";
import { coalescingWriter } from "../lib/coalesce.mjs";
import { encodeFrame, frameReader } from "../lib/frames.mjs";
import { exitWithParent, report } from "../lib/stats.mjs";

const server = net.createServer((socket) => {
  socket.setNoDelay(true);
  const write = coalescingWriter(socket);
  socket.on(
    "data",
    frameReader((frame) => {
      const body = JSON.parse(frame.toString("utf8", 8));
      write(encodeFrame(frame.readUInt32BE(4), Buffer.from(JSON.stringify(body))));
    }),
  );
  socket.on("error", () => socket.destroy());
});

server.listen(0, "127.0.0.1", () => {
  const { address, port } = server.address();
  report({ type: "ready", address: `${address}:${port}` });
});
exitWithParent(() => server.close());

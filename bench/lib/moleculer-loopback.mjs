// moleculer 0.14's TCP transporter, confined to 127.0.0.1.
//
// Its options cannot do that: TcpReader.listen() calls server.listen({ port, exclusive }) with no
// host, so it listens on every interface, and getNodeAddress() dials a peer's advertised hostname
// or first interface address. This subclass (bench only, moleculer itself is untouched) listens on
// 127.0.0.1, dials only 127.0.0.1, and never starts UDP discovery.
import { createRequire } from "node:module";
import net from "node:net";
import path from "node:path";
import moleculer from "moleculer";

const require = createRequire(import.meta.url);
// TcpReader/TcpWriter are not in moleculer's "exports" map; load them by file path.
const tcpDir = path.join(path.dirname(require.resolve("moleculer")), "src/transporters/tcp");
const TcpReader = require(path.join(tcpDir, "tcp-reader.js"));
const TcpWriter = require(path.join(tcpDir, "tcp-writer.js"));

export const LOOPBACK = "127.0.0.1";

class LoopbackTcpReader extends TcpReader {
  // A copy of TcpReader.listen() with the host added.
  listen() {
    return new this.Promise((resolve, reject) => {
      this.server = net.createServer((socket) => this.onTcpClientConnected(socket));
      this.server.once("error", reject);
      this.server.listen({ port: this.opts.port ?? 0, host: LOOPBACK, exclusive: true }, () => {
        this.opts.port = this.server.address().port;
        this.connected = true;
        resolve(this.opts.port);
      });
    });
  }
}

export class LoopbackTcpTransporter extends moleculer.Transporters.TCP {
  constructor(opts) {
    super({ ...opts, udpDiscovery: false, udpBroadcast: false, udpMulticast: null });
  }

  // A copy of TcpTransporter.startTcpServer() with LoopbackTcpReader.
  startTcpServer() {
    this.writer = new TcpWriter(this, this.opts);
    this.reader = new LoopbackTcpReader(this, this.opts);
    this.writer.on("error", (_err, nodeID) => this.nodes.disconnected(nodeID, false));
    this.writer.on("end", (nodeID) => this.nodes.disconnected(nodeID, false));
    return this.reader.listen();
  }

  startUdpServer() {
    return this.Promise.resolve();
  }

  getNodeAddress() {
    return LOOPBACK;
  }
}

/** Broker options shared by the bench's server and client nodes. */
export function brokerOptions(nodeID, transporterOptions) {
  return {
    nodeID,
    logger: false,
    metrics: false,
    tracing: false,
    requestTimeout: 10_000,
    transporter: new LoopbackTcpTransporter(transporterOptions),
  };
}

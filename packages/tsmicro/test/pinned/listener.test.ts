/**
 * Pinned behaviours of the listener every transport hands back (transport/listener.ts): close()
 * ends (its server closed, its connections gone), stopAccepting refuses new connections and
 * tells the open ones to go away, and a transport's own closeAll replaces the default destroy.
 */
import assert from "node:assert/strict";
import net from "node:net";
import { describe, it } from "node:test";
import { serverListener } from "../../src/transport/listener.js";
import { waitUntil, within } from "../support/raw-peer.js";

/** A TCP server on loopback that keeps its open sockets in a set, as the transports do. */
async function serve(): Promise<{ server: net.Server; open: Set<net.Socket>; address: string }> {
  const open = new Set<net.Socket>();
  const server = net.createServer((s) => {
    open.add(s);
    s.on("close", () => open.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as net.AddressInfo;
  return { server, open, address: `127.0.0.1:${port}` };
}

async function connect(address: string): Promise<net.Socket> {
  const [host, port] = address.split(":");
  const s = net.connect(Number(port), host);
  await within(
    new Promise((r, j) => s.once("connect", r).once("error", j)),
    2000,
    `a connection to ${address}`,
  );
  return s;
}

const closed = (s: net.Socket) => new Promise<void>((r) => (s.closed ? r() : s.once("close", () => r())));

describe("transport listener (pinned)", { timeout: 10_000 }, () => {
  it("counts open connections; close() destroys them, closes the server and resolves", async () => {
    const { server, open, address } = await serve();
    const l = serverListener(server, address, open);
    assert.equal(l.address, address);
    const a = await connect(address);
    const b = await connect(address);
    await waitUntil(() => l.connections === 2, 2000, "the server to see both connections");
    await within(l.close(), 2000, "listener.close() to resolve");
    assert.equal(server.listening, false, "the server is closed");
    await within(Promise.all([closed(a), closed(b)]), 2000, "the clients to see their connections end");
    assert.equal(l.connections, 0);
  });

  it("stopAccepting refuses new connections, tells the peers to go away, and keeps open ones until close()", async () => {
    const { server, open, address } = await serve();
    let goAways = 0;
    const l = serverListener(server, address, open, () => goAways++);
    const kept = await connect(address);
    await waitUntil(() => l.connections === 1, 2000, "the server to see the connection");
    await l.stopAccepting();
    await l.stopAccepting();
    assert.equal(goAways, 2, "each stopAccepting tells the peers");
    await assert.rejects(connect(address), /ECONNREFUSED/, "a new connection is refused");
    assert.equal(kept.destroyed, false);
    assert.equal(l.connections, 1, "the open connection stays until close()");
    await within(l.close(), 2000, "listener.close() after stopAccepting");
    await within(closed(kept), 2000, "the kept connection to end");
  });

  it("close() uses the transport's closeAll instead of destroying each connection", async () => {
    const { server, open, address } = await serve();
    let calls = 0;
    const l = serverListener(server, address, open, undefined, async () => {
      calls++;
      for (const s of open) s.end();
    });
    const c = await connect(address);
    await waitUntil(() => l.connections === 1, 2000, "the server to see the connection");
    const ended = new Promise<void>((r) => c.once("end", () => r()));
    await within(l.close(), 2000, "listener.close() with closeAll");
    assert.equal(calls, 1);
    await within(ended, 2000, "the peer to get a FIN from closeAll's end(), not a reset");
    c.destroy();
  });
});

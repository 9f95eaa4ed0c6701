// Hostile or broken bytes on the wire: each gets a clear answer, and the server keeps
// serving the next good call.
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { newRequest } from "../src/client/request.js";
import { background } from "../src/context.js";
import { MicroError } from "../src/errors.js";
import { encodeFrame, type Frame, FrameDecoder, FrameType, PREFACE } from "../src/transport/frame.js";
import { encodeRequestHeaders } from "../src/transport/headers.js";
import { fixture, within } from "./helpers.js";

class Echo {
  async Echo(_ctx: unknown, req: unknown) {
    return req;
  }
}

/** A raw socket that collects decoded frames, for speaking the protocol badly on purpose. */
async function rawClient(address: string) {
  const [host, port] = address.split(":");
  const socket: Socket = connect({ host, port: Number(port) });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  const frames: Frame[] = [];
  const decoder = new FrameDecoder(64 * 1024 * 1024, { frame: (f) => frames.push(f), oversized: () => {} });
  socket.on("data", (d: Buffer) => decoder.push(d));
  const closed = new Promise<void>((r) => socket.once("close", () => r()));
  socket.on("error", () => {});
  return {
    socket,
    frames,
    closed,
    async next(what: string): Promise<Frame> {
      const end = Date.now() + 5000;
      while (frames.length === 0) {
        assert.ok(Date.now() < end, `timed out after 5000 ms waiting for a frame: ${what}`);
        await new Promise((r) => setTimeout(r, 10));
      }
      return frames.shift()!;
    },
  };
}

function request(
  id: number,
  body: string | Buffer,
  endpoint = "Echo.Echo",
  contentType = "application/json",
) {
  const header = encodeRequestHeaders({ service: "echo", endpoint, contentType, timeoutMs: 5000 });
  return encodeFrame(FrameType.Request, id, header, typeof body === "string" ? Buffer.from(body) : body);
}

function errorOf(f: Frame): MicroError {
  assert.equal(f.type, FrameType.Error, `expected an error frame, got type ${f.type}`);
  return MicroError.parse(f.body.toString("utf8"));
}

describe("bad input on the wire", () => {
  const f = fixture();
  let address = "";
  const goodCall = () =>
    within(
      f.client().call(background(), newRequest("echo", "Echo.Echo", { ok: true }), { address }),
      5000,
      "a good call after the bad input",
    );

  before(async () => {
    address = (await f.start("echo", [new Echo()])).address;
  });
  after(() => f.close());

  it("garbage bytes instead of the preface: a clear error, the connection closed, others unaffected", async () => {
    const raw = await rawClient(address);
    raw.socket.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    const e = errorOf(await raw.next("the refusal of an HTTP request"));
    assert.equal(e.code, 400);
    assert.match(e.detail, /not a tsmicro client: expected the preface/);
    await within(raw.closed, 5000, "the server to close the garbage connection");
    assert.deepEqual(await goodCall(), { ok: true });
  });

  it("garbage after a good preface: a protocol error names what was wrong", async () => {
    const raw = await rawClient(address);
    raw.socket.write(
      Buffer.concat([
        PREFACE,
        Buffer.from([0, 0, 0, 20, 0xee, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]),
      ]),
    );
    const e = errorOf(await raw.next("the protocol error"));
    assert.match(e.detail, /protocol error: unknown frame type 238/);
    await within(raw.closed, 5000, "the server to close the broken connection");
    assert.deepEqual(await goodCall(), { ok: true });
  });

  it("a frame over the server's limit: 413 for that request, and the same connection keeps working", async () => {
    const raw = await rawClient(address);
    raw.socket.write(PREFACE);
    const huge = Buffer.alloc(5 * 1024 * 1024, 0x61);
    raw.socket.write(request(7, Buffer.concat([Buffer.from('"'), huge, Buffer.from('"')])));
    const e = errorOf(await raw.next("the 413 for the oversized frame"));
    assert.equal(e.code, 413);
    assert.match(e.detail, /exceeds the server's frame limit of 4194304 bytes/);
    raw.socket.write(request(8, '{"after":"oversized"}'));
    const ok = await raw.next("the answer to the next request on the same connection");
    assert.equal(ok.type, FrameType.Response);
    assert.equal(ok.id, 8);
    assert.deepEqual(JSON.parse(ok.body.toString()), { after: "oversized" });
    raw.socket.destroy();
  });

  it("an undecodable body: 400 naming the endpoint and the content type", async () => {
    const raw = await rawClient(address);
    raw.socket.write(PREFACE);
    raw.socket.write(request(1, "{not json"));
    const e = errorOf(await raw.next("the 400 for a bad body"));
    assert.equal(e.code, 400);
    assert.match(e.detail, /cannot decode the request body for echo\.Echo\.Echo as application\/json/);
    raw.socket.write(request(2, "[1,2]"));
    assert.deepEqual(JSON.parse((await raw.next("the next good answer")).body.toString()), [1, 2]);
    raw.socket.destroy();
  });

  it("a malformed header: 400 naming the field", async () => {
    const raw = await rawClient(address);
    raw.socket.write(PREFACE);
    raw.socket.write(encodeFrame(FrameType.Request, 3, '{"s":"echo","e":"Echo.Echo"}', Buffer.from("{}")));
    assert.match(
      errorOf(await raw.next("the 400 for a header without content type")).detail,
      /lacks the content type/,
    );
    raw.socket.write(encodeFrame(FrameType.Request, 4, "[[[", Buffer.from("{}")));
    assert.match(errorOf(await raw.next("the 400 for a header that is not JSON")).detail, /not valid JSON/);
    raw.socket.destroy();
    assert.deepEqual(await goodCall(), { ok: true });
  });

  it("an unknown endpoint: 404, and the server serves the next call", async () => {
    const e = await within(
      f
        .client()
        .call(background(), newRequest("echo", "Echo.Missing", {}), { address })
        .catch((err: unknown) => err as MicroError),
      5000,
      "the 404",
    );
    assert.equal(e.code, 404);
    assert.deepEqual(await goodCall(), { ok: true });
  });
});

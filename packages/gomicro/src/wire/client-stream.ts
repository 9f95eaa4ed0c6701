/**
 * A stream to a go-micro server: one socket of its own; each message the client sends is a
 * POST carrying `Micro-Stream: <id>`, each the server sends a response; either side ends with
 * a message whose `Micro-Error` is `EOS`, or is another error (the stream's status).
 * go-micro's server reads the first message as the opening of the call and drops its body
 * (its generated clients open with an empty request, then `Send` the real one), so this
 * stream opens with an empty message and every `send` follows it.
 */
import { MicroError } from "tsmicro";
import type { RequestHeaders, TransportStream } from "tsmicro/plugin";
import { END_OF_STREAM, errorFromHeader, H, requestHeadersOut } from "./headers.js";
import { encodeRequest } from "./http1.js";
import type { WireSocket } from "./socket.js";

export class ClientWireStream implements TransportStream {
  readonly header: Readonly<Record<string, string>> = {};
  readonly trailer: Readonly<Record<string, string>> = {};
  readonly finished: Promise<MicroError | undefined>;
  readonly #controller = new AbortController();
  readonly #socket: Promise<WireSocket>;
  readonly #headers: Record<string, string>;
  readonly #address: string;
  #finish!: (e: MicroError | undefined) => void;
  #done = false;
  #sentEnd = false;
  #serverEnded = false;

  constructor(
    headers: RequestHeaders,
    signal: AbortSignal,
    address: string,
    id: string,
    open: () => Promise<WireSocket>,
  ) {
    this.#address = address;
    this.#headers = { ...requestHeadersOut(headers, id), [H.stream]: id };
    this.finished = new Promise((r) => {
      this.#finish = r;
    });
    this.#socket = open().then(async (s) => {
      await s.write(encodeRequest(address, this.#headers, new Uint8Array()));
      return s;
    });
    this.#socket.catch((err) => this.#end(MicroError.from(err)));
    const onAbort = () => this.abort(MicroError.from(signal.reason));
    if (signal.aborted) queueMicrotask(onAbort);
    else signal.addEventListener("abort", onAbort, { once: true });
    void this.finished.then(() => signal.removeEventListener("abort", onAbort));
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  async send(body: Uint8Array): Promise<void> {
    if (this.#done) throw this.#controller.signal.reason ?? closed(this.#address);
    if (this.#sentEnd)
      throw new MicroError({ id: "go.micro.client", code: 400, detail: "send after closeSend" });
    const socket = await this.#socket;
    await socket.write(encodeRequest(this.#address, this.#headers, body));
  }

  closeSend(): void {
    if (this.#sentEnd || this.#done) return;
    this.#sentEnd = true;
    void this.#socket
      .then((s) =>
        s.write(
          encodeRequest(this.#address, { ...this.#headers, [H.error]: END_OF_STREAM }, new Uint8Array()),
        ),
      )
      .catch((err) => this.#end(MicroError.from(err)));
  }

  abort(error: MicroError): void {
    if (this.#done) return;
    this.#end(error);
  }

  #end(error: MicroError | undefined): void {
    if (this.#done) return;
    this.#done = true;
    if (error) this.#controller.abort(error);
    void this.#socket.then(
      (s) => s.destroy(),
      () => {},
    );
    this.#finish(error);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    try {
      const socket = await this.#socket;
      while (!this.#done) {
        const m = await socket.read();
        const err = m.headers[H.error];
        if (err === END_OF_STREAM) {
          this.#serverEnded = true;
          // As go-micro's client: tell the server this side is done too, then let go.
          if (!this.#sentEnd) {
            this.#sentEnd = true;
            await socket
              .write(
                encodeRequest(
                  this.#address,
                  { ...this.#headers, [H.error]: END_OF_STREAM },
                  new Uint8Array(),
                ),
              )
              .catch(() => {});
          }
          this.#end(undefined);
          return;
        }
        if (err) {
          const e = errorFromHeader(err, this.#headers[H.service] ?? "go.micro.client");
          this.#end(e);
          throw e;
        }
        yield m.body;
      }
    } catch (err) {
      const e =
        this.#done && this.#controller.signal.reason
          ? (this.#controller.signal.reason as MicroError)
          : MicroError.from(err);
      this.#end(e);
      throw e;
    } finally {
      // Leaving the loop early cancels the stream.
      if (!this.#done && !this.#serverEnded)
        this.#end(
          new MicroError({ id: "go.micro.client", code: 499, detail: "stream cancelled by the client" }),
        );
    }
  }
}

function closed(address: string): MicroError {
  return new MicroError({ id: "go.micro.client", code: 503, detail: `stream to ${address} is closed` });
}

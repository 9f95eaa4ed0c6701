/**
 * A stream a go-micro client opened on a tsmicro server: its messages after the opening one
 * arrive as POSTs with the stream's id, ours leave as responses; `Micro-Error: EOS` ends a side, another error
 * the stream. go-micro streams carry no header or trailer metadata: those set here stay local.
 */
import { MicroError } from "tsmicro";
import type { InboundStream, RequestHeaders } from "tsmicro/plugin";
import { END_OF_STREAM, errorHeader, H } from "./headers.js";
import { encodeResponse } from "./http1.js";

export class ServerWireStream implements InboundStream {
  readonly headers: RequestHeaders;
  readonly peer: string;
  readonly header: Readonly<Record<string, string>> = {};
  readonly trailer: Readonly<Record<string, string>> = {};
  readonly finished: Promise<MicroError | undefined>;
  readonly #controller = new AbortController();
  readonly #base: Record<string, string>;
  readonly #write: (bytes: Buffer) => Promise<void>;
  readonly #onDone: () => void;
  readonly #inbox: Uint8Array[] = [];
  #wake: (() => void) | undefined;
  #remoteEnded = false;
  #done = false;
  #finish!: (e: MicroError | undefined) => void;

  constructor(
    headers: RequestHeaders,
    peer: string,
    _id: string,
    base: Record<string, string>,
    write: (bytes: Buffer) => Promise<void>,
    onDone: () => void,
  ) {
    this.headers = headers;
    this.peer = peer;
    this.#base = base;
    this.#write = write;
    this.#onDone = onDone;
    this.finished = new Promise((r) => {
      this.#finish = r;
    });
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  setHeader(): void {}
  setTrailer(): void {}

  push(body: Uint8Array): void {
    if (this.#remoteEnded || this.#done) return;
    this.#inbox.push(body);
    this.#wake?.();
  }

  remoteEnd(): void {
    this.#remoteEnded = true;
    this.#wake?.();
  }

  async send(body: Uint8Array): Promise<void> {
    if (this.#done) throw (this.#controller.signal.reason as MicroError | undefined) ?? ended();
    await this.#write(encodeResponse({ ...this.#base, [H.contentType]: this.headers.contentType }, body));
  }

  closeSend(): void {
    if (this.#done) return;
    void this.#write(encodeResponse({ ...this.#base, [H.error]: END_OF_STREAM }, new Uint8Array())).catch(
      () => {},
    );
    this.#end(undefined);
  }

  abort(error: MicroError): void {
    if (this.#done) return;
    void this.#write(
      encodeResponse({ ...this.#base, [H.error]: errorHeader(error) }, new Uint8Array()),
    ).catch(() => {});
    this.#end(error);
  }

  #end(error: MicroError | undefined): void {
    this.#done = true;
    if (error) this.#controller.abort(error);
    this.#wake?.();
    this.#onDone();
    this.#finish(error);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    for (;;) {
      const m = this.#inbox.shift();
      if (m !== undefined) {
        yield m;
        continue;
      }
      if (this.#controller.signal.aborted) throw this.#controller.signal.reason;
      if (this.#remoteEnded || this.#done) return;
      await new Promise<void>((r) => {
        this.#wake = r;
      });
      this.#wake = undefined;
    }
  }
}

function ended(): MicroError {
  return new MicroError({ id: "go.micro.server", code: 409, detail: "send on a stream that has ended" });
}

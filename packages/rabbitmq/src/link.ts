/**
 * The connection to RabbitMQ, through amqplib's own recovery: it reconnects by itself with
 * back-off; on every (re)connect the broker's publisher channel and each subscription's
 * channel are made again (`onConnect`). Waiting for the connection is always bounded by the
 * caller's signal.
 */
import {
  type ChannelModel,
  type ConfirmChannel,
  connect,
  type Options,
  type RecoveringChannelModel,
} from "amqplib";
import { MicroError } from "tsmicro";
import { describeTlsClientError } from "tsmicro/plugin";

export const DEFAULT_RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672";

export class Link {
  readonly url: string;
  readonly #socketOptions: Options.Connect | object;
  #recovering: Promise<RecoveringChannelModel> | undefined;
  #model: ChannelModel | undefined;
  #waiters: (() => void)[] = [];
  #listeners = new Set<(model: ChannelModel) => void>();
  #confirm: Promise<ConfirmChannel> | undefined;
  #ready: { ch: ConfirmChannel; model: ChannelModel } | undefined;
  #closed = false;
  /** Why the last connection attempt failed, until one succeeds. */
  #lastFailure: Error | undefined;
  readonly #onError: (e: Error) => void;

  constructor(url: string, onError: (e: Error) => void, socketOptions: object = {}) {
    this.url = url;
    this.#onError = onError;
    this.#socketOptions = socketOptions;
  }

  /** Starts connecting (once). */
  open(): Promise<RecoveringChannelModel> {
    this.#recovering ??= connect(this.url, {
      ...this.#socketOptions,
      recovery: {
        waitForConnect: false,
        initialDelay: 100,
        maxDelay: 2000,
        maxRetries: Number.POSITIVE_INFINITY,
      },
    }).then((r) => {
      r.on("connect", (model: ChannelModel) => {
        this.#model = model;
        this.#lastFailure = undefined;
        this.#confirm = undefined;
        this.#ready = undefined;
        const w = this.#waiters;
        this.#waiters = [];
        for (const f of w) f();
        for (const l of this.#listeners) l(model);
      });
      r.on("disconnect", () => {
        this.#model = undefined;
        this.#confirm = undefined;
        this.#ready = undefined;
      });
      r.on("connect-failed", (err: Error) => {
        this.#lastFailure = err;
        // Waiters look at the failure: a refused certificate is not retried into a timeout.
        const w = this.#waiters;
        this.#waiters = [];
        for (const f of w) f();
      });
      r.on("error", () => {}); // followed by "disconnect": recovery takes it from there
      r.on("handler-error", (err: Error) => this.#onError(err));
      return r;
    });
    return this.#recovering;
  }

  get connected(): boolean {
    return this.#model !== undefined;
  }

  /** The current connection; waits for one, bounded by `signal`. */
  async model(signal: AbortSignal, broker: string): Promise<ChannelModel> {
    if (this.#closed) throw closedError(broker);
    await abortable(this.open(), signal);
    while (this.#model === undefined) {
      if (this.#closed) throw closedError(broker);
      const tls = this.#lastFailure && describeTlsClientError(this.#lastFailure, hostPort(this.url));
      // A TLS check that failed (wrong CA, name, expiry) fails the same way on every retry.
      if (tls !== undefined) throw refusedError(broker, tls, this.#lastFailure);
      await abortable(new Promise<void>((r) => this.#waiters.push(r)), signal);
    }
    return this.#model;
  }

  /** The publisher's confirm channel on the current connection (made again after a reconnect or a channel error). */
  async confirmChannel(signal: AbortSignal, broker: string): Promise<ConfirmChannel> {
    const model = await this.model(signal, broker);
    if (this.#confirm === undefined) {
      const p = model.createConfirmChannel().then((ch) => {
        ch.on("error", () => {});
        ch.on("close", () => {
          if (this.#confirm === p) this.#confirm = undefined;
          if (this.#ready?.ch === ch) this.#ready = undefined;
        });
        if (this.#model === model) this.#ready = { ch, model };
        return ch;
      });
      p.catch(() => {
        if (this.#confirm === p) this.#confirm = undefined;
      });
      this.#confirm = p;
    }
    return abortable(this.#confirm, signal);
  }

  /** The publisher's confirm channel and its connection, when both are open now (the fast path). */
  ready(): { ch: ConfirmChannel; model: ChannelModel } | undefined {
    return this.#ready;
  }

  /** Calls `listener` with every new connection from now on (and now, if connected). */
  onConnect(listener: (model: ChannelModel) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * The error for a connection not made in time: `err` if it is a MicroError already, else a
   * 503 naming the broker, the wait and why the last attempt failed.
   */
  notConnectedError(err: unknown, broker: string, waitedMs: number): MicroError {
    if (err instanceof MicroError) return err;
    const last = this.#lastFailure;
    return new MicroError({
      id: "tsmicro",
      code: 503,
      detail: `broker ${broker}: not connected within ${waitedMs} ms${last ? `; the last attempt failed: ${last.message}` : ""}`,
      retryable: true,
      ...(last ? { cause: last } : {}),
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
    const r = this.#recovering;
    this.#recovering = undefined;
    this.#model = undefined;
    this.#ready = undefined;
    if (r !== undefined) await (await r.catch(() => undefined))?.close().catch(() => {});
  }
}

function closedError(broker: string): MicroError {
  return new MicroError({
    id: "tsmicro",
    code: 503,
    detail: `broker ${broker}: the connection was closed`,
    retryable: true,
  });
}

function refusedError(broker: string, detail: string, cause: Error | undefined): MicroError {
  return new MicroError({
    id: "tsmicro",
    code: 503,
    detail: `broker ${broker}: ${detail}`,
    retryable: false,
    ...(cause ? { cause } : {}),
  });
}

/** `host:port` of an AMQP URL, for error messages (never its credentials). */
function hostPort(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || (u.protocol === "amqps:" ? "5671" : "5672")}`;
  } catch {
    return "the broker";
  }
}

export function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

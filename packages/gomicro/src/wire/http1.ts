/**
 * go-micro's HTTP transport sends every message as one HTTP/1.1 message on a long-lived TCP
 * connection: the client's as POST requests, the server's as responses, as many of each as the
 * call needs (a stream is many requests and many responses on one connection). This reads
 * such messages incrementally from a socket's bytes and writes them.
 */
import { MicroError } from "tsmicro";

export interface HttpMessage {
  /** `POST /` for requests, `200 OK` for responses: the start line after the version. */
  readonly start: string;
  /** The status code of a response; 0 for a request. */
  readonly status: number;
  /** Header names in Go's canonical form (`Micro-Id`), one value each (the first). */
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

export interface Http1Limits {
  /** Largest head (start line and headers) accepted, bytes. */
  maxHeaderBytes: number;
  /** Largest body accepted, bytes. */
  maxBodyBytes: number;
}

const CRLFCRLF = Buffer.from("\r\n\r\n");

const canonical = new Map<string, string>();

/** Go's textproto canonical header key: `micro-id` → `Micro-Id`. */
export function canonicalHeader(name: string): string {
  let c = canonical.get(name);
  if (c === undefined) {
    c = name
      .toLowerCase()
      .split("-")
      .map((p) => (p.length === 0 ? p : p[0]!.toUpperCase() + p.slice(1)))
      .join("-");
    // Bounded: header names are few, but a peer could send many distinct ones.
    if (canonical.size < 1024) canonical.set(name, c);
  }
  return c;
}

/**
 * Splits a byte stream into HTTP/1.1 messages. `push` returns the messages completed by the
 * chunk; it throws a MicroError (the connection is then unusable) on a malformed or
 * oversized message.
 */
export class Http1Reader {
  #buf: Buffer = Buffer.alloc(0);
  #head:
    | {
        start: string;
        status: number;
        headers: Record<string, string>;
        bodyStart: number;
        length: number | "chunked";
      }
    | undefined;
  readonly #limits: Http1Limits;
  readonly #where: string;

  constructor(limits: Http1Limits, where: string) {
    this.#limits = limits;
    this.#where = where;
  }

  push(chunk: Buffer): HttpMessage[] {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    const out: HttpMessage[] = [];
    for (;;) {
      const m = this.#next();
      if (m === undefined) return out;
      out.push(m);
    }
  }

  #fail(code: number, detail: string): never {
    throw new MicroError({ id: "go.micro.transport", code, detail: `${this.#where}: ${detail}` });
  }

  #next(): HttpMessage | undefined {
    if (this.#head === undefined) {
      const end = this.#buf.indexOf(CRLFCRLF);
      if (end < 0) {
        if (this.#buf.length > this.#limits.maxHeaderBytes) {
          this.#fail(431, `HTTP head larger than ${this.#limits.maxHeaderBytes} bytes`);
        }
        return undefined;
      }
      const lines = this.#buf.subarray(0, end).toString("latin1").split("\r\n");
      const first = lines[0]!;
      let start: string;
      let status = 0;
      if (first.startsWith("HTTP/1.")) {
        start = first.slice(9);
        status = Number.parseInt(start, 10);
        if (!(status >= 100 && status < 600)) this.#fail(502, `bad HTTP status line "${first.slice(0, 80)}"`);
      } else {
        const m = /^([A-Z]+) (\S+) HTTP\/1\.[01]$/.exec(first);
        if (!m) this.#fail(400, `bad HTTP request line "${first.slice(0, 80)}"`);
        start = `${m[1]} ${m[2]}`;
      }
      const headers: Record<string, string> = {};
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(":");
        if (colon <= 0) this.#fail(400, `bad HTTP header line "${line.slice(0, 80)}"`);
        const key = canonicalHeader(line.slice(0, colon).trim());
        if (!(key in headers)) headers[key] = line.slice(colon + 1).trim();
      }
      let length: number | "chunked" = 0;
      if (/chunked/i.test(headers["Transfer-Encoding"] ?? "")) length = "chunked";
      else if (headers["Content-Length"] !== undefined) {
        length = Number(headers["Content-Length"]);
        if (!Number.isSafeInteger(length) || length < 0)
          this.#fail(400, `bad Content-Length "${headers["Content-Length"]}"`);
        if (length > this.#limits.maxBodyBytes) {
          this.#fail(
            413,
            `HTTP body of ${length} bytes is larger than the limit of ${this.#limits.maxBodyBytes}`,
          );
        }
      }
      this.#head = { start, status, headers, bodyStart: end + 4, length };
    }
    const h = this.#head;
    let body: Buffer;
    let consumed: number;
    if (h.length === "chunked") {
      const r = readChunked(this.#buf, h.bodyStart, this.#limits.maxBodyBytes, (c, d) => this.#fail(c, d));
      if (r === undefined) return undefined;
      [body, consumed] = r;
    } else {
      if (this.#buf.length < h.bodyStart + h.length) return undefined;
      body = Buffer.from(this.#buf.subarray(h.bodyStart, h.bodyStart + h.length));
      consumed = h.bodyStart + h.length;
    }
    this.#buf = this.#buf.subarray(consumed);
    this.#head = undefined;
    return { start: h.start, status: h.status, headers: h.headers, body };
  }
}

function readChunked(
  buf: Buffer,
  from: number,
  max: number,
  fail: (code: number, detail: string) => never,
): [Buffer, number] | undefined {
  const parts: Buffer[] = [];
  let size = 0;
  let at = from;
  for (;;) {
    const eol = buf.indexOf("\r\n", at);
    if (eol < 0) return undefined;
    const n = Number.parseInt(buf.subarray(at, eol).toString("latin1"), 16);
    if (!Number.isSafeInteger(n) || n < 0) fail(400, "bad chunk size");
    if (n === 0) {
      const end = buf.indexOf(CRLFCRLF, eol);
      if (end >= 0) return [Buffer.concat(parts), end + 4];
      if (buf.subarray(eol, eol + 4).toString() === "\r\n\r\n") return [Buffer.concat(parts), eol + 4];
      return undefined;
    }
    size += n;
    if (size > max) fail(413, `HTTP body larger than the limit of ${max} bytes`);
    if (buf.length < eol + 2 + n + 2) return undefined;
    parts.push(buf.subarray(eol + 2, eol + 2 + n));
    at = eol + 2 + n + 2;
  }
}

/** A header value must not break the message: no CR, LF or NUL, and Latin-1 only. */
export function checkHeaderValue(key: string, value: string): void {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to find them
  if (/[\r\n\0]/.test(value) || /[^\u0000-\u00ff]/.test(value)) {
    throw new MicroError({
      id: "go.micro.transport",
      code: 400,
      detail: `header "${key}" cannot travel in go-micro's HTTP transport: its value has a line break, NUL or a non-Latin-1 character`,
    });
  }
  if (!/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(key)) {
    throw new MicroError({
      id: "go.micro.transport",
      code: 400,
      detail: `"${key}" is not a valid HTTP header name`,
    });
  }
}

function head(start: string, headers: Record<string, string>, length: number): string {
  let s = `${start}\r\n`;
  for (const [k, v] of Object.entries(headers)) s += `${k}: ${v}\r\n`;
  return `${s}Content-Length: ${length}\r\n\r\n`;
}

/** One POST carrying a go-micro message (the client's side). */
export function encodeRequest(host: string, headers: Record<string, string>, body: Uint8Array): Buffer {
  return Buffer.concat([
    Buffer.from(head("POST / HTTP/1.1", { Host: host, ...headers }, body.length), "latin1"),
    body,
  ]);
}

/** One response carrying a go-micro message (the server's side). */
export function encodeResponse(headers: Record<string, string>, body: Uint8Array, status = "200 OK"): Buffer {
  return Buffer.concat([Buffer.from(head(`HTTP/1.1 ${status}`, headers, body.length), "latin1"), body]);
}

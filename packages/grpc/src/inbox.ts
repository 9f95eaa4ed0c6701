/**
 * Received messages waiting for their reader. Over `highWaterBytes` it pauses the HTTP/2
 * stream, so HTTP/2's own flow control holds the sender back (a slow reader slows the writer);
 * it resumes once the reader has taken half of it.
 */
import type { MicroError } from "tsmicro";

const EMPTY = new Uint8Array(0);

export class Inbox {
  #items: Uint8Array[] = [];
  #head = 0;
  #bytes = 0;
  #paused = false;
  #waiter: { resolve(r: IteratorResult<Uint8Array>): void; reject(e: unknown): void } | undefined;
  #end: { error?: MicroError } | undefined;
  #discard = false;
  readonly #pause: () => void;
  readonly #resume: () => void;
  readonly #highWater: number;

  constructor(pause: () => void, resume: () => void, highWaterBytes: number) {
    this.#pause = pause;
    this.#resume = resume;
    this.#highWater = highWaterBytes;
  }

  get ended(): boolean {
    return this.#end !== undefined;
  }

  push(message: Uint8Array): void {
    if (this.#end !== undefined || this.#discard) return;
    this.#items.push(message);
    this.#bytes += message.length;
    if (!this.#paused && this.#bytes > this.#highWater) {
      this.#paused = true;
      this.#pause();
    }
    this.#wake();
  }

  /** Nothing more arrives; the reader gets what is buffered, then the end or `error`. */
  end(error?: MicroError): void {
    if (this.#end !== undefined) return;
    this.#end = error === undefined ? {} : { error };
    this.#wake();
  }

  /** Ends now, dropping what is buffered (a local cancel). */
  fail(error: MicroError): void {
    this.#items = [];
    this.#head = 0;
    this.#bytes = 0;
    this.#end = undefined;
    this.end(error);
  }

  /** The reader is gone: drop what is buffered and what comes, without pausing the sender. */
  discard(): void {
    this.#discard = true;
    this.#items = [];
    this.#head = 0;
    this.#bytes = 0;
    if (this.#paused) {
      this.#paused = false;
      this.#resume();
    }
  }

  next(): Promise<IteratorResult<Uint8Array>> {
    if (this.#waiter !== undefined) return Promise.reject(new Error("stream: next() called concurrently"));
    const r = this.#poll();
    if (r === undefined) return new Promise((resolve, reject) => (this.#waiter = { resolve, reject }));
    return "error" in r ? Promise.reject(r.error) : Promise.resolve(r);
  }

  #poll(): IteratorResult<Uint8Array> | { error: MicroError } | undefined {
    if (this.#head < this.#items.length) {
      const m = this.#items[this.#head]!;
      this.#items[this.#head++] = EMPTY;
      if (this.#head === this.#items.length) {
        this.#items = [];
        this.#head = 0;
      }
      this.#bytes -= m.length;
      if (this.#paused && this.#bytes <= this.#highWater / 2) {
        this.#paused = false;
        this.#resume();
      }
      return { value: m, done: false };
    }
    if (this.#end === undefined) return undefined;
    return this.#end.error === undefined ? { value: undefined, done: true } : { error: this.#end.error };
  }

  #wake(): void {
    const w = this.#waiter;
    if (w === undefined) return;
    const r = this.#poll();
    if (r === undefined) return;
    this.#waiter = undefined;
    if ("error" in r) w.reject(r.error);
    else w.resolve(r);
  }
}

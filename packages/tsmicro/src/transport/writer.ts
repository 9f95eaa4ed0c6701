import type { Socket } from "node:net";

/** Frames at least this large go to the socket as they are, not copied into a batch. */
const DIRECT_BYTES = 16 * 1024;
/** A batch goes out once it holds this many frames, so the peer starts on them while we make the rest. */
export const MAX_BATCH_FRAMES = 16;

/**
 * Coalesces the frames written in one tick into one socket write: with 64 calls in flight
 * this turns 64 writes (each a trip through the stream machinery and a syscall) into one,
 * which is most of the gap to a raw socket. Order is kept: a large frame flushes the batch
 * before it.
 */
export class FrameWriter {
  readonly #socket: Socket;
  #batch: Uint8Array[] = [];
  #bytes = 0;
  #scheduled = false;

  constructor(socket: Socket) {
    this.#socket = socket;
  }

  /** False when the socket's buffer is full: the caller should slow down (streams do). */
  write(buf: Uint8Array): boolean {
    const socket = this.#socket;
    if (socket.destroyed || !socket.writable) return false;
    if (buf.length >= DIRECT_BYTES) {
      this.#send();
      return socket.write(buf);
    }
    this.#batch.push(buf);
    this.#bytes += buf.length;
    // A full batch goes now; the tick's flush, already scheduled, sends the rest.
    if (this.#batch.length >= MAX_BATCH_FRAMES) this.#send();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      process.nextTick(this.#flush);
    }
    return socket.writableLength + this.#bytes < socket.writableHighWaterMark;
  }

  /** Sends what is batched, then half-closes the socket (a bare socket.end() would drop the batch). */
  end(): void {
    this.#flush();
    this.#socket.end();
  }

  readonly #flush = () => {
    this.#scheduled = false;
    this.#send();
  };

  #send(): void {
    const batch = this.#batch;
    if (batch.length === 0) return;
    const bytes = this.#bytes;
    this.#batch = [];
    this.#bytes = 0;
    const socket = this.#socket;
    if (socket.destroyed || !socket.writable) return;
    socket.write(batch.length === 1 ? batch[0]! : Buffer.concat(batch, bytes));
  }
}

/** How the CLI talks back: aligned tables for people, JSON for scripts, a spinner only on a terminal. */
import type { Writable } from "node:stream";
import { closedSignal } from "./pipe.js";

export interface OutputOptions {
  json: boolean;
  stdout?: Writable & { isTTY?: boolean };
  stderr?: Writable & { isTTY?: boolean };
}

const FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

export class Output {
  readonly json: boolean;
  readonly #out: Writable;
  readonly #err: Writable & { isTTY?: boolean };
  /** Aborts when stdout's reader has gone (`| head -1`): writes are dropped from then on. */
  readonly closed: AbortSignal;

  constructor(options: OutputOptions) {
    this.json = options.json;
    this.#out = options.stdout ?? process.stdout;
    this.#err = options.stderr ?? process.stderr;
    this.closed = closedSignal(this.#out);
    closedSignal(this.#err);
  }

  line(text = ""): void {
    if (this.closed.aborted) return;
    this.#out.write(`${text}\n`);
  }

  /** `value` as JSON: one line in --json mode (for scripts), indented otherwise. */
  data(value: unknown): void {
    this.line(this.json ? JSON.stringify(value) : JSON.stringify(value, null, 2));
  }

  /** A table with a header row; columns padded to their widest cell. */
  table(headers: readonly string[], rows: readonly (readonly string[])[]): void {
    const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
    const fmt = (cells: readonly string[]) =>
      cells
        .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
        .join("  ")
        .trimEnd();
    this.line(fmt(headers));
    for (const r of rows) this.line(fmt(r));
  }

  /** The one-line reason for a failure, on stderr. */
  fail(message: string): void {
    this.#err.write(`tsmicro: ${message.replace(/\s*\n\s*/g, " ")}\n`);
  }

  /** Shows `label` with a spinner on stderr while `work` runs, only when stderr is a terminal. */
  async spin<T>(label: string, work: Promise<T>): Promise<T> {
    if (this.json || !this.#err.isTTY) return work;
    let i = 0;
    const draw = () => this.#err.write(`\r${FRAMES[i++ % FRAMES.length]} ${label}`);
    const timer = setInterval(draw, 80);
    draw();
    try {
      return await work;
    } finally {
      clearInterval(timer);
      this.#err.write("\r\x1b[2K");
    }
  }
}

/** `1234` → `1.2s`, `75` → `75ms`. */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s`;
  return `${Math.floor(ms / 3_600_000)}h${Math.round((ms % 3_600_000) / 60_000)}m`;
}

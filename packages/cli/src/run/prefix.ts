/** docker compose style output: each line of a child's output prefixed with its name. */
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";

const COLOURS = [36, 33, 32, 35, 34, 31];

export class Prefixer {
  readonly #width: number;
  readonly #colour: boolean;
  readonly #write: (line: string) => void;

  constructor(names: readonly string[], write: (line: string) => void, colour: boolean) {
    this.#width = Math.max(...names.map((n) => n.length), "tsmicro".length);
    this.#write = write;
    this.#colour = colour;
  }

  prefix(name: string, index: number): string {
    const label = `${name.padEnd(this.#width)} |`;
    return this.#colour ? `\x1b[${COLOURS[index % COLOURS.length]}m${label}\x1b[0m` : label;
  }

  /** One line from the supervisor itself, or about a service. */
  say(name: string, index: number, text: string): void {
    this.#write(`${this.prefix(name, index)} ${text}`);
  }

  /** Forwards every line of `stream`, prefixed. */
  pipe(stream: Readable, name: string, index: number): void {
    createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY }).on("line", (l) =>
      this.say(name, index, l),
    );
  }
}

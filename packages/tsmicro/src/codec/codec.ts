/** Codec: turns values into bytes and back, chosen by content type (go-micro's codec package). */
import { MicroError } from "../errors.js";

export interface Codec {
  /** MIME type on the wire, e.g. `application/json`. */
  readonly contentType: string;
  encode(value: unknown): Uint8Array;
  /** Throws on bytes it cannot decode; the server turns that into a 400. */
  decode(bytes: Uint8Array): unknown;
}

/** Content types mapped to codecs; unknown types get an error naming the supported ones. */
export class CodecRegistry {
  readonly #codecs = new Map<string, Codec>();

  constructor(codecs: Iterable<Codec>) {
    for (const c of codecs) this.#codecs.set(c.contentType, c);
  }

  get(contentType: string, id = "tsmicro"): Codec {
    const codec = this.#codecs.get(contentType);
    if (codec) return codec;
    throw new MicroError({
      id,
      code: 415,
      detail: `unsupported content type "${contentType}"; supported: ${[...this.#codecs.keys()].join(", ")}`,
    });
  }

  has(contentType: string): boolean {
    return this.#codecs.has(contentType);
  }

  types(): string[] {
    return [...this.#codecs.keys()];
  }

  with(codec: Codec): CodecRegistry {
    return new CodecRegistry([...this.#codecs.values(), codec]);
  }
}

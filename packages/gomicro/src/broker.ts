/**
 * go-micro's NATS broker format (the go-micro nats broker plugin, v4): the topic is the
 * subject and the payload is go-micro's `broker.Message` as JSON, `{"Header":{...},"Body":
 * "<base64>"}`, with go-micro's header names (`Content-Type`, `Micro-Topic`, `Micro-Id`, then
 * the publisher's metadata). tsmicro's lower-case header names are written in Go's canonical
 * form and read back lower-cased, so subscribers on both stacks see the headers they expect.
 */
import { createNatsBroker, type NatsBrokerOptions, type NatsMessageFormat } from "@tsmicro/nats";
import { type Broker, MicroError } from "tsmicro";
import type { BrokerMessage } from "tsmicro/plugin";
import { canonicalHeader } from "./wire/http1.js";

export const goMicroNatsMessageFormat: NatsMessageFormat = {
  encode(topic, message) {
    const header: Record<string, string> = {};
    for (const [k, v] of Object.entries(message.headers)) header[canonicalHeader(k)] = v;
    header["Micro-Topic"] ??= topic;
    return Buffer.from(
      JSON.stringify({ Header: header, Body: Buffer.from(message.body).toString("base64") }),
    );
  },
  decode(payload): BrokerMessage {
    const v = JSON.parse(payload.toString("utf8")) as { Header?: unknown; Body?: unknown };
    if (
      typeof v !== "object" ||
      v === null ||
      (v.Body !== null && v.Body !== undefined && typeof v.Body !== "string")
    ) {
      throw new MicroError({
        id: "go.micro.broker",
        code: 400,
        detail: "not a go-micro broker message ({Header, Body})",
      });
    }
    const headers: Record<string, string> = {};
    if (typeof v.Header === "object" && v.Header !== null) {
      for (const [k, val] of Object.entries(v.Header))
        if (typeof val === "string") headers[k.toLowerCase()] = val;
    }
    return { headers, body: typeof v.Body === "string" ? Buffer.from(v.Body, "base64") : new Uint8Array() };
  },
};

export type GoMicroNatsBrokerOptions = Omit<NatsBrokerOptions, "format">;

/**
 * A broker on NATS that go-micro services using the nats broker plugin publish to and
 * subscribe from. Options are @tsmicro/nats's (servers default 127.0.0.1:4222). Delivery is
 * core NATS: at most once, to the subscribers connected when a message is published.
 */
export function createGoMicroNatsBroker(options: GoMicroNatsBrokerOptions = {}): Broker {
  const broker = createNatsBroker({ ...options, format: goMicroNatsMessageFormat });
  return { ...broker, name: broker.name.replace(/^nats/, "go-micro nats") };
}

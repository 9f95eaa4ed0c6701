/** Checks and defaults shared by every broker: topic names, subscribe options, publish deadlines. */
import { badRequest, MicroError } from "../errors.js";
import {
  type BrokerMessage,
  type BrokerOptions,
  DEFAULT_MAX_DELIVER,
  DEFAULT_RETRY_DELAY_MS,
  defaultDeadLetterTopic,
  type SubscribeOptions,
} from "./broker.js";

export interface ResolvedSubscribeOptions {
  queue: string | undefined;
  autoAck: boolean;
  maxDeliver: number;
  deadLetterTopic: string | false;
  retryDelayMs: number;
}

// Wildcards and whitespace mean different things on every engine: refuse them everywhere.
const BAD_TOPIC = /[\s*>#+]/;

/** Throws a 400 naming the broker when `topic` is not a plain name every engine accepts. */
export function checkTopic(topic: unknown, broker: string): asserts topic is string {
  if (typeof topic !== "string" || topic.length === 0) {
    throw badRequest("tsmicro", `broker ${broker}: a topic must be a non-empty string, got ${String(topic)}`);
  }
  if (topic.length > 200 || BAD_TOPIC.test(topic) || topic.startsWith(".") || topic.endsWith(".")) {
    throw badRequest(
      "tsmicro",
      `broker ${broker}: topic "${topic}" is not allowed (no whitespace or wildcards * > # +, no leading or trailing dot, at most 200 characters)`,
    );
  }
}

export function checkMessage(
  message: unknown,
  broker: string,
  topic: string,
): asserts message is BrokerMessage {
  const m = message as BrokerMessage | undefined;
  if (typeof m !== "object" || m === null || !(m.body instanceof Uint8Array)) {
    throw badRequest(
      "tsmicro",
      `broker ${broker}: publish to "${topic}" needs a message { headers, body: Uint8Array }`,
    );
  }
  if (typeof m.headers !== "object" || m.headers === null) {
    throw badRequest("tsmicro", `broker ${broker}: publish to "${topic}": message headers must be an object`);
  }
}

export function resolveSubscribeOptions(
  topic: string,
  options: SubscribeOptions | undefined,
  broker: string,
): ResolvedSubscribeOptions {
  checkTopic(topic, broker);
  const o = options ?? {};
  if (o.queue !== undefined && (typeof o.queue !== "string" || !/^[A-Za-z0-9_-]{1,100}$/.test(o.queue))) {
    throw badRequest(
      "tsmicro",
      `broker ${broker}: queue group "${String(o.queue)}" on "${topic}" must be 1-100 letters, digits, _ or -`,
    );
  }
  const maxDeliver = o.maxDeliver ?? DEFAULT_MAX_DELIVER;
  if (!(Number.isInteger(maxDeliver) && maxDeliver >= 1)) {
    throw badRequest("tsmicro", `broker ${broker}: maxDeliver must be an integer ≥ 1, got ${maxDeliver}`);
  }
  const retryDelayMs = o.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS;
  if (!(retryDelayMs >= 0)) {
    throw badRequest("tsmicro", `broker ${broker}: retryDelayMs must be ≥ 0, got ${retryDelayMs}`);
  }
  const deadLetterTopic = o.deadLetterTopic ?? defaultDeadLetterTopic(topic);
  if (deadLetterTopic !== false) checkTopic(deadLetterTopic, broker);
  if (deadLetterTopic === topic) {
    throw badRequest(
      "tsmicro",
      `broker ${broker}: the dead-letter topic of "${topic}" cannot be the topic itself`,
    );
  }
  return { queue: o.queue, autoAck: o.autoAck ?? true, maxDeliver, deadLetterTopic, retryDelayMs };
}

/** The handler for problems nobody awaits: the broker option, else console.error. */
export function errorSink(options: BrokerOptions | undefined): (error: Error) => void {
  return options?.onError ?? ((e) => console.error(`tsmicro broker: ${e.message}`));
}

/** Copies headers with lower-case names and string values. */
export function normalizeHeaders(headers: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) out[k.toLowerCase()] = String(v);
  return out;
}

/** A 503 saying the broker is not connected (after `disconnect()`, or before a reconnect). */
export function notConnected(broker: string, what: string): MicroError {
  return new MicroError({
    id: "tsmicro",
    code: 503,
    detail: `broker ${broker} is not connected: cannot ${what}`,
    retryable: true,
  });
}

export { PublishDeadline, publishDeadline } from "./deadline.js";

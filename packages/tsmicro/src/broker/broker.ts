/**
 * Broker: publish/subscribe between services (go-micro's broker package). A message is
 * headers plus a body of bytes; the client encodes payloads with its codec and the service
 * decodes them for subscribers, so a broker only moves bytes. Every implementation runs the
 * conformance suite in `tsmicro/testing`; their delivery semantics are tabled in
 * broker/README.md.
 */
import type { InflightCall } from "../inflight.js";

/** Header names are lower-case; values are strings. */
export type MessageHeaders = Record<string, string>;

export interface BrokerMessage {
  headers: MessageHeaders;
  body: Uint8Array;
}

/** One delivery of a message to a subscriber. */
export interface Event {
  readonly topic: string;
  readonly message: BrokerMessage;
  /** 1 on the first delivery, 2 on the first redelivery, ... (counted across processes on durable brokers). */
  readonly attempt: number;
  /** Acknowledges: the message is done. Only the first of `ack()`/`nack()` counts. */
  ack(): Promise<void>;
  /** Rejects: redelivered until `maxDeliver` deliveries, then sent to the dead-letter topic. */
  nack(): Promise<void>;
}

/** A subscriber's handler. Throwing is a `nack()` (unless the handler already settled the event). */
export type BrokerHandler = (event: Event) => void | Promise<void>;

export interface PublishOptions {
  /** Gives up on the publish (including a wait for a reconnection). */
  signal?: AbortSignal;
  /** Bound on the whole publish, including waiting for a lost connection to come back. @default 5000 */
  timeoutMs?: number;
  /**
   * The publisher's in-flight record (the client's stall doctor table), in phase "publishing".
   * A broker that finds and dials subscriber nodes itself (the HTTP broker) moves it through
   * selecting, dialing and publishing and names the node, as a call's attempt does
   * (selector/node-attempt.ts); others leave it as it is. @default none
   */
  inflight?: InflightCall;
}

export interface SubscribeOptions {
  /**
   * Queue group: each message goes to one member of the group. On durable brokers the group
   * is durable too (messages published while no member runs wait for one). @default broadcast
   */
  queue?: string;
  /** Acknowledge when the handler returns, `nack()` when it throws. @default true */
  autoAck?: boolean;
  /** Deliveries of one message before it goes to the dead-letter topic. @default 5 */
  maxDeliver?: number;
  /** Where a message goes after `maxDeliver` failed deliveries; `false` drops it (reported to `onError`). @default `${topic}.dlq` */
  deadLetterTopic?: string | false;
  /** Wait before a failed message is delivered again, in ms. @default 100 */
  retryDelayMs?: number;
}

export interface Subscriber {
  readonly topic: string;
  /** The queue group, or undefined for a broadcast subscription. */
  readonly queue: string | undefined;
  /** Stops deliveries and waits for the handler running now to finish. Durable groups keep their messages. */
  unsubscribe(): Promise<void>;
}

/** Publish/subscribe on topics (go-micro's broker.Broker). */
export interface Broker {
  /** Says which broker this is and where, for error messages (`nats (nats://127.0.0.1:4222)`). */
  readonly name: string;
  /** Connects; idempotent. `publish` and `subscribe` connect on first use, too. */
  connect(): Promise<void>;
  /** Unsubscribes everything, waits for running handlers, closes. Publishing after it fails. */
  disconnect(): Promise<void>;
  /** Resolves once the broker has taken the message (see the README table for what that promises). */
  publish(topic: string, message: BrokerMessage, options?: PublishOptions): Promise<void>;
  subscribe(topic: string, handler: BrokerHandler, options?: SubscribeOptions): Promise<Subscriber>;
}

/** Options every broker factory accepts. */
export interface BrokerOptions {
  /** Problems that have no caller to throw to (a dead letter that could not be stored, a lost connection). @default console.error */
  onError?: (error: Error) => void;
}

export const DEFAULT_PUBLISH_TIMEOUT_MS = 5000;
export const DEFAULT_MAX_DELIVER = 5;
export const DEFAULT_RETRY_DELAY_MS = 100;

/** Header names tsmicro sets on every published message. */
export const HEADER = {
  id: "micro-id",
  topic: "micro-topic",
  contentType: "content-type",
  /** On dead letters: the topic the message was published to. */
  deadLetterTopic: "micro-dead-letter-topic",
  /** On dead letters: why the last delivery failed. */
  deadLetterReason: "micro-dead-letter-reason",
  /** On dead letters (and on redelivery copies some brokers make): deliveries so far. */
  attempt: "micro-attempt",
} as const;

export function defaultDeadLetterTopic(topic: string): string {
  return `${topic}.dlq`;
}

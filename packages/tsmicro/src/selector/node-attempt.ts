/**
 * One attempt to reach one node, whatever is sent there: a call, a stream, a published message.
 * It records the node chosen, counts the attempt against it while it runs (least-in-flight),
 * tells whoever chose it how it went (a success clears an ejection, a transport failure
 * ejects the node) and moves the caller's in-flight record through its phases, so the stall
 * doctor shows every path the same way. The client's `Attempt` (client/attempt.ts) and the
 * HTTP broker's delivery to a subscriber are both built on it.
 */
import type { MicroError } from "../errors.js";
import { type CallPhase, type InflightCall, setPhase } from "../inflight.js";
import type { Node } from "../registry/registry.js";
import { isTransportFailure } from "../transport/failure.js";
import type { Selector } from "./selector.js";

/** What chose the node and wants to hear how it went: a selector, or anything that ejects nodes likewise. */
export type NodeMarks = Pick<Selector, "mark" | "started" | "finished">;

/**
 * Exactly one of `succeeded`, `failed` or `release` ends an attempt (each is idempotent);
 * `next()` starts counting the following one.
 */
export class NodeAttempt {
  /** The node of the current (or last) attempt. */
  node: Node | undefined;
  /** 1-based; `next()` counts retries. */
  number = 1;
  phase: CallPhase;
  readonly #service: string;
  readonly #marks: NodeMarks;
  readonly #record: InflightCall | undefined;
  /** Whether `#marks` chose the current node (a fixed address is neither counted nor marked). */
  #chosen = false;
  /** The node counted as busy until the attempt ends. */
  #busy: Node | undefined;

  /**
   * `service` is the name `marks` knows the node under; `record` the caller's in-flight record
   * (undefined when tracking is off), moved to `phase` now.
   */
  constructor(
    service: string,
    marks: NodeMarks,
    record: InflightCall | undefined,
    phase: CallPhase = "selecting",
  ) {
    this.#service = service;
    this.#marks = marks;
    this.#record = record;
    this.phase = phase;
    setPhase(record, phase);
  }

  /** Moves the attempt to phase `p` (the in-flight record's phase and its start time). */
  enter(p: CallPhase): void {
    this.phase = p;
    setPhase(this.#record, p);
  }

  /**
   * The attempt goes to `node`. `chosen`: the node came from `marks` (counted as busy until the
   * attempt ends, and told how it went); false for a fixed address.
   */
  chose(node: Node, chosen: boolean): void {
    this.node = node;
    this.#chosen = chosen;
    if (this.#record !== undefined) this.#record.node = node.id;
    if (chosen) {
      this.#marks.started?.(this.#service, node);
      this.#busy = node;
    }
  }

  /** The node answered: a success is counted for it. */
  succeeded(): void {
    this.release();
    if (this.#chosen && this.node !== undefined) this.#marks.mark(this.#service, this.node);
  }

  /** The attempt failed with `error`: a transport failure counts against the node. */
  failed(error: MicroError): void {
    this.release();
    if (this.#chosen && this.node !== undefined && isTransportFailure(error)) {
      this.#marks.mark(this.#service, this.node, error);
    }
  }

  /** Stops counting the attempt against its node, however it ended. */
  release(): void {
    if (this.#busy !== undefined) this.#marks.finished?.(this.#service, this.#busy);
    this.#busy = undefined;
  }

  /** Counts the next attempt (a retry). */
  next(): void {
    this.number++;
    if (this.#record !== undefined) this.#record.attempt = this.number;
  }
}

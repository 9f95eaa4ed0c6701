/**
 * Pinned behaviours of one attempt on one node (selector/node-attempt.ts), with a recording
 * selector and a real in-flight record: the record's phase and node, the busy count started and
 * finished exactly once, a success marked for the node, only a transport failure marked against
 * it, nothing at all for a fixed address, and the attempt number.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MicroError } from "../../src/errors.js";
import { InflightTable } from "../../src/inflight.js";
import type { Node } from "../../src/registry/registry.js";
import { NodeAttempt, type NodeMarks } from "../../src/selector/node-attempt.js";
import { markTransportFailure } from "../../src/transport/failure.js";

const n1: Node = { id: "n1", address: "127.0.0.1:1", metadata: {} };

function recorder() {
  const events: string[] = [];
  const marks: NodeMarks = {
    mark: (service, node, error) =>
      events.push(
        `mark ${service} ${node.id}${error === undefined ? "" : ` ${(error as MicroError).detail}`}`,
      ),
    started: (service, node) => events.push(`started ${service} ${node.id}`),
    finished: (service, node) => events.push(`finished ${service} ${node.id}`),
  };
  return { marks, events };
}
const record = () =>
  new InflightTable().add("client", "svc", "E.p", undefined, "queued", undefined, [], 1000);

describe("node attempts (pinned)", { timeout: 10_000 }, () => {
  it("moves the in-flight record to its phase at once, and on each new phase", () => {
    const r = record();
    const a = new NodeAttempt("svc", recorder().marks, r);
    assert.deepEqual([a.phase, r.phase], ["selecting", "selecting"]);
    assert.ok(r.phaseSince > 1000, "the phase's clock starts now");
    const b = new NodeAttempt("svc", recorder().marks, record(), "publishing");
    assert.equal(b.phase, "publishing");
    a.enter("sent");
    assert.deepEqual([a.phase, r.phase], ["sent", "sent"]);
    new NodeAttempt("svc", recorder().marks, undefined).enter("sent"); // no record: nothing to move
  });

  it("a chosen node is counted busy until the attempt ends, once however often it is ended", () => {
    const { marks, events } = recorder();
    const r = record();
    const a = new NodeAttempt("svc", marks, r);
    a.chose(n1, true);
    assert.equal(a.node, n1);
    assert.equal(r.node, "n1");
    assert.deepEqual(events, ["started svc n1"]);
    a.release();
    a.release();
    a.succeeded();
    assert.deepEqual(events, ["started svc n1", "finished svc n1", "mark svc n1"]);
  });

  it("a success is marked for the node; of failures, only a transport failure is marked against it", () => {
    const ok = recorder();
    const a = new NodeAttempt("svc", ok.marks, undefined);
    a.chose(n1, true);
    a.succeeded();
    assert.deepEqual(ok.events, ["started svc n1", "finished svc n1", "mark svc n1"]);

    const answered = recorder();
    const b = new NodeAttempt("svc", answered.marks, undefined);
    b.chose(n1, true);
    b.failed(new MicroError({ id: "svc", code: 500, detail: "the handler failed" }));
    assert.deepEqual(
      answered.events,
      ["started svc n1", "finished svc n1"],
      "an answer is not the node's fault",
    );

    const lost = recorder();
    const c = new NodeAttempt("svc", lost.marks, undefined);
    c.chose(n1, true);
    c.failed(markTransportFailure(new MicroError({ id: "svc", code: 503, detail: "connection lost" })));
    assert.deepEqual(lost.events, ["started svc n1", "finished svc n1", "mark svc n1 connection lost"]);
  });

  it("a fixed address is neither counted nor marked, whatever happens", () => {
    const { marks, events } = recorder();
    const r = record();
    const a = new NodeAttempt("svc", marks, r);
    a.chose(n1, false);
    assert.equal(r.node, "n1", "the record still shows where the call went");
    a.succeeded();
    a.failed(markTransportFailure(new MicroError({ id: "svc", code: 503, detail: "lost" })));
    a.release();
    assert.deepEqual(events, []);
  });

  it("a selector without started/finished is only marked", () => {
    const events: string[] = [];
    const a = new NodeAttempt("svc", { mark: (_s, n) => events.push(`mark ${n.id}`) }, undefined);
    a.chose(n1, true);
    a.succeeded();
    assert.deepEqual(events, ["mark n1"]);
  });

  it("next() counts the attempt, on the record too", () => {
    const r = record();
    const a = new NodeAttempt("svc", recorder().marks, r);
    assert.equal(a.number, 1);
    a.next();
    a.next();
    assert.deepEqual([a.number, r.attempt], [3, 3]);
    const bare = new NodeAttempt("svc", recorder().marks, undefined);
    bare.next();
    assert.equal(bare.number, 2);
  });

  it("a node chosen after a fixed one is counted; the record follows the latest node", () => {
    const { marks, events } = recorder();
    const r = record();
    const a = new NodeAttempt("svc", marks, r);
    a.chose({ ...n1, id: "fixed" }, false);
    a.release();
    a.next();
    a.chose(n1, true);
    a.failed(markTransportFailure(new MicroError({ id: "svc", code: 503, detail: "refused" })));
    assert.equal(r.node, "n1");
    assert.deepEqual(events, ["started svc n1", "finished svc n1", "mark svc n1 refused"]);
  });
});

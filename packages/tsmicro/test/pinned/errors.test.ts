/**
 * MicroError's behaviours that the full mutation run of errors.ts (issue 20) found unpinned: the
 * status text of every code, the fields parse() takes or defaults, the error an aborted signal
 * becomes, and the text a person reads.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  abortError,
  badGateway,
  badRequest,
  Code,
  cancelled,
  conflict,
  forbidden,
  gatewayTimeout,
  internalServerError,
  isMicroError,
  loopDetected,
  MicroError,
  methodNotAllowed,
  notFound,
  notImplemented,
  payloadTooLarge,
  serviceUnavailable,
  statusText,
  timeout,
  tooManyRequests,
  unauthorized,
  unsupportedMediaType,
} from "../../src/errors.js";

describe("MicroError status texts (pinned)", () => {
  // Every code tsmicro raises, with its helper and the HTTP text go-micro's clients show.
  const table = [
    [badRequest, Code.BadRequest, "Bad Request"],
    [unauthorized, Code.Unauthorized, "Unauthorized"],
    [forbidden, Code.Forbidden, "Forbidden"],
    [notFound, Code.NotFound, "Not Found"],
    [methodNotAllowed, Code.MethodNotAllowed, "Method Not Allowed"],
    [timeout, Code.Timeout, "Request Timeout"],
    [conflict, Code.Conflict, "Conflict"],
    [payloadTooLarge, Code.PayloadTooLarge, "Payload Too Large"],
    [unsupportedMediaType, Code.UnsupportedMediaType, "Unsupported Media Type"],
    [tooManyRequests, Code.TooManyRequests, "Too Many Requests"],
    [cancelled, Code.Cancelled, "Client Closed Request"],
    [internalServerError, Code.InternalServerError, "Internal Server Error"],
    [notImplemented, Code.NotImplemented, "Not Implemented"],
    [badGateway, Code.BadGateway, "Bad Gateway"],
    [serviceUnavailable, Code.ServiceUnavailable, "Service Unavailable"],
    [gatewayTimeout, Code.GatewayTimeout, "Gateway Timeout"],
    [loopDetected, Code.LoopDetected, "Loop Detected"],
  ] as const;

  for (const [helper, code, text] of table) {
    it(`${code} reads "${text}", from statusText and from its helper`, () => {
      assert.equal(statusText(code), text);
      const e = helper("svc", "what failed");
      assert.equal(e.code, code);
      assert.equal(e.status, text);
    });
  }

  it("every code in Code has its text (none falls back to Unknown)", () => {
    assert.equal(Object.keys(Code).length, table.length);
    for (const code of Object.values(Code)) assert.notEqual(statusText(code), "Unknown", `code ${code}`);
  });

  it('a code of the application\'s own reads "Unknown" unless it gives a status', () => {
    assert.equal(statusText(599), "Unknown");
    assert.equal(new MicroError({ id: "s", code: 599, detail: "d" }).status, "Unknown");
    assert.equal(new MicroError({ id: "s", code: 599, detail: "d", status: "Mine" }).status, "Mine");
  });
});

describe("MicroError fields (pinned)", () => {
  it('is named "MicroError" and keeps its cause only when given one', () => {
    const root = new Error("socket hang up");
    const e = new MicroError({ id: "s", code: 502, detail: "d", cause: root });
    assert.equal(e.name, "MicroError");
    assert.equal(e.cause, root);
    assert.equal("cause" in new MicroError({ id: "s", code: 502, detail: "d" }), false);
  });

  it("from() gives a plain Error the id tsmicro and code 500 by default", () => {
    const e = MicroError.from(new Error("boom"));
    assert.equal(e.id, "tsmicro");
    assert.equal(e.code, 500);
    assert.equal(e.detail, "boom");
  });

  it("instanceof and isMicroError are false, never a throw, for primitives, null and plain objects", () => {
    for (const v of [undefined, null, 0, "MicroError", true, {}, new Error("x")]) {
      assert.equal(isMicroError(v), false, `isMicroError(${String(v)})`);
      assert.equal((v as unknown) instanceof MicroError, false);
    }
    // Another copy of the class (two versions of the package): the brand is what counts.
    assert.equal(isMicroError({ [Symbol.for("tsmicro.MicroError")]: true }), true);
  });
});

describe("MicroError.parse fields (pinned)", () => {
  it("text that is not JSON is a 500 raised by tsmicro, quoting it", () => {
    const e = MicroError.parse("upstream said no");
    assert.deepEqual([e.id, e.code, e.detail], ["tsmicro", 500, "upstream said no"]);
  });

  it("JSON that is not an object is a 500 raised by tsmicro, quoted as received", () => {
    for (const raw of ["null", "7"]) assert.equal(MicroError.parse(raw).id, "tsmicro", raw);
    assert.equal(MicroError.parse(" 42 ").detail, " 42 ");
  });

  it("an object without an id is attributed to tsmicro; with one, to it", () => {
    assert.equal(MicroError.parse('{"code":404,"detail":"d"}').id, "tsmicro");
    assert.equal(MicroError.parse('{"id":"users","code":404,"detail":"d"}').id, "users");
  });

  it("keeps only the string hops of a chain, and no chain that is not a list", () => {
    assert.deepEqual(MicroError.parse('{"code":500,"detail":"d","chain":["a.B",7,null,"c.D"]}').chain, [
      "a.B",
      "c.D",
    ]);
    assert.deepEqual(MicroError.parse('{"code":500,"detail":"d","chain":"a.B"}').chain, []);
  });

  it("is refused only when the wire says refused: true", () => {
    assert.equal(MicroError.parse('{"code":503,"detail":"d","refused":true}').refused, true);
    assert.equal(MicroError.parse('{"code":503,"detail":"d","refused":"true"}').refused, false);
    assert.equal(MicroError.parse('{"code":503,"detail":"d"}').refused, false);
  });
});

describe("MicroError as text (pinned)", () => {
  it("toString names code, status and id, and the chain only when there is one", () => {
    assert.equal(notFound("users", "no user 7").toString(), "MicroError 404 Not Found (users): no user 7");
    assert.equal(
      notFound("users", "no user 7", { chain: ["api.Get", "users.Find"] }).toString(),
      "MicroError 404 Not Found (users): no user 7 [chain: api.Get -> users.Find]",
    );
  });
});

describe("abortError (pinned)", () => {
  it("a MicroError reason (a deadline, a cancel) is the error itself", () => {
    const reason = timeout("svc", "deadline");
    assert.equal(abortError(reason), reason);
  });

  it("an Error reason is a 499 quoting it, with the reason as cause", () => {
    const reason = new Error("user closed the tab");
    const e = abortError(reason, "svc");
    assert.deepEqual([e.code, e.id, e.detail], [499, "svc", "the caller cancelled: user closed the tab"]);
    assert.equal(e.cause, reason);
  });

  it("a string reason is quoted; no reason at all reads plainly; the id defaults to tsmicro", () => {
    assert.equal(abortError("shutdown").detail, "the caller cancelled: shutdown");
    const plain = abortError(undefined);
    assert.deepEqual([plain.code, plain.id, plain.detail], [499, "tsmicro", "the caller cancelled"]);
  });
});

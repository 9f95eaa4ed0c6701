import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  badRequest,
  conflict,
  forbidden,
  internalServerError,
  MicroError,
  notFound,
  timeout,
  unauthorized,
} from "../src/errors.js";

describe("MicroError", () => {
  it("helpers set go-micro's codes and statuses", () => {
    const cases: [MicroError, number, string][] = [
      [badRequest("svc", "d"), 400, "Bad Request"],
      [unauthorized("svc", "d"), 401, "Unauthorized"],
      [forbidden("svc", "d"), 403, "Forbidden"],
      [notFound("svc", "d"), 404, "Not Found"],
      [timeout("svc", "d"), 408, "Request Timeout"],
      [conflict("svc", "d"), 409, "Conflict"],
      [internalServerError("svc", "d"), 500, "Internal Server Error"],
    ];
    for (const [e, code, status] of cases) {
      assert.equal(e.code, code);
      assert.equal(e.status, status);
      assert.equal(e.id, "svc");
      assert.equal(e.detail, "d");
    }
  });

  it("is retryable by code unless told otherwise", () => {
    assert.equal(timeout("s", "d").retryable, true);
    assert.equal(new MicroError({ id: "s", code: 503, detail: "d" }).retryable, true);
    assert.equal(badRequest("s", "d").retryable, false);
    assert.equal(internalServerError("s", "d").retryable, false);
    assert.equal(internalServerError("s", "d", { retryable: true }).retryable, true);
  });

  it("round-trips through its wire form with every field", () => {
    const e = new MicroError({
      id: "greeter",
      code: 409,
      detail: "taken",
      retryable: true,
      chain: ["a.B.c@n1"],
    });
    const back = MicroError.parse(JSON.stringify(e));
    assert.deepEqual(back.toJSON(), e.toJSON());
  });

  it("parses garbage into a 500 that quotes it, never throws", () => {
    for (const raw of ["", "not json", "123", "null", "[]", '{"code":"x"}']) {
      const e = MicroError.parse(raw);
      assert.ok(e instanceof MicroError);
      assert.equal(typeof e.code, "number");
    }
    assert.equal(MicroError.parse("not json").detail, "not json");
  });

  it("normalises anything thrown; instanceof works across copies of the class", () => {
    const e = MicroError.from(new TypeError("boom"), "svc");
    assert.equal(e.code, 500);
    assert.equal(e.detail, "boom");
    assert.ok(e.cause instanceof TypeError);
    assert.equal(MicroError.from(e), e);
    const foreign = Object.assign(Object.create(Error.prototype), {
      [Symbol.for("tsmicro.MicroError")]: true,
    });
    assert.ok(foreign instanceof MicroError, "branded objects from another copy count");
    assert.ok(!(new Error("x") instanceof MicroError));
  });
});

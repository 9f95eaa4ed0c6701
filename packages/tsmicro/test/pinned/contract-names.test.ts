/**
 * Pinned behaviours of contract declarations (contract/contract.ts): a contract needs a name,
 * and an endpoint's wire name is the contract's name and the endpoint's own name, or its key.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { defineContract, endpointName, unary } from "../../src/contract/contract.js";

describe("contract names (pinned)", () => {
  it("defineContract refuses an empty name with a TypeError", () => {
    assert.throws(
      () => defineContract("", { hello: unary() }),
      (e: unknown) => e instanceof TypeError && e.message === "defineContract: a name is required",
    );
  });

  it("an endpoint's wire name: its own name when it has one, else its key, after the contract's name", () => {
    const c = defineContract("Greeter", { hello: unary(), sayHi: unary({ name: "SayHi" }) });
    assert.equal(endpointName(c, "hello"), "Greeter.hello");
    assert.equal(endpointName(c, "sayHi"), "Greeter.SayHi");
    // A key the contract does not declare (a dynamic call) keeps the key.
    assert.equal(endpointName(c, "other"), "Greeter.other");
  });
});

/**
 * Pinned behaviours of the server's router (server/router.ts): which methods of a handler
 * object become endpoints, under which prefix, which are listed in the registry, and the
 * refusals that name what is wrong.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Context } from "../../src/context.js";
import { Router } from "../../src/server/router.js";

class Base {
  inherited() {
    return "base";
  }
  shadowed() {
    return "base";
  }
}
class Greeter extends Base {
  field = "not a method";
  hello(_ctx: Context, req: { name: string }) {
    return `hello ${req.name} from ${this.constructor.name}`;
  }
  override shadowed() {
    return "greeter";
  }
  _private() {
    return "hidden";
  }
}

const ctx = {} as Context;

describe("router (pinned)", { timeout: 10_000 }, () => {
  it("serves own and inherited methods under the class name, with `this` bound; skips the constructor, _private and fields", async () => {
    const r = new Router();
    const added = r.addObject(new Greeter());
    assert.deepEqual(added.sort(), ["Greeter.hello", "Greeter.inherited", "Greeter.shadowed"]);
    assert.deepEqual(r.names().sort(), added);
    assert.equal(await r.get("Greeter.hello")!.handler(ctx, { name: "ann" }), "hello ann from Greeter");
    assert.equal(await r.get("Greeter.shadowed")!.handler(ctx, {}), "greeter", "the subclass's method wins");
    assert.equal(r.get("Greeter._private"), undefined);
    assert.equal(r.get("Greeter.constructor"), undefined);
    assert.equal(r.get("Greeter.field"), undefined);
  });

  it("a name option replaces the prefix; describe shapes go into the endpoint", () => {
    const r = new Router();
    r.addObject(new Greeter(), {
      name: "Hi",
      describe: { hello: { request: { name: "string" }, response: "string" } },
    });
    assert.deepEqual(r.get("Hi.hello")!.endpoint, {
      name: "Hi.hello",
      request: { name: "string" },
      response: "string",
    });
    assert.deepEqual(r.get("Hi.inherited")!.endpoint, { name: "Hi.inherited" });
    const nullProto = Object.assign(Object.create(null), { ping: () => "pong" });
    assert.deepEqual(
      new Router().addObject(nullProto, { name: "Bare" }),
      ["Bare.ping"],
      "a null-prototype object",
    );
    const plain = new Router();
    assert.deepEqual(plain.addObject({ ping: () => "pong" }, { name: "Plain" }), ["Plain.ping"]);
  });

  it("refuses a plain object without a name, an object without methods, and a name already taken", () => {
    const r = new Router();
    assert.throws(() => r.addObject({ ping: () => 1 }), {
      name: "TypeError",
      message: "handle(obj): give a class instance, or { name } for a plain object",
    });
    assert.throws(() => r.addObject(Object.create(null), { name: "" }), /give a class instance/);
    const bare = Object.assign(Object.create(null), { ping: () => 1 });
    assert.throws(
      () => r.addObject(bare),
      /give a class instance/,
      "no constructor at all: the same TypeError",
    );
    class Empty {}
    assert.throws(() => r.addObject(new Empty()), {
      message: "handle(Empty): the object has no methods to serve",
    });
    r.add("A.b", () => 1);
    assert.throws(() => r.add("A.b", () => 2), { message: "endpoint A.b is already registered" });
    r.alsoTaken((n) => n === "S.stream");
    assert.throws(() => r.add("S.stream", () => 2), { message: "endpoint S.stream is already registered" });
    r.add("S.other", () => 3);
    assert.deepEqual(r.names(), ["A.b", "S.other"]);
  });

  it("endpoints() lists every endpoint for the registry except Debug.*", () => {
    const r = new Router();
    r.add("Debug.health", () => 1);
    r.add("A.b", () => 1, { name: "A.b", metadata: { stream: "false" } });
    r.add("NotDebug.x", () => 1);
    assert.deepEqual(r.endpoints(), [{ name: "A.b", metadata: { stream: "false" } }, { name: "NotDebug.x" }]);
  });
});

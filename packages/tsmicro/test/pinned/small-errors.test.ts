/**
 * Pinned behaviours of the small modules that turn a failure into an error a user can act on
 * (service/start-error.ts, contract/validate.ts, registry/local-dir.ts, transport/failure.ts,
 * and the option checks of the selector and the HTTP broker): each code and text, each field.
 */
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { resolveHttpBrokerOptions } from "../../src/broker/http-options.js";
import type { StandardSchemaV1 } from "../../src/contract/standard-schema.js";
import { formatPath, validate } from "../../src/contract/validate.js";
import { MicroError } from "../../src/errors.js";
import { secureRegistryDir } from "../../src/registry/local-dir.js";
import { resolveSelectorOptions } from "../../src/selector/options.js";
import { listenError } from "../../src/service/start-error.js";
import { isTransportFailure, markTransportFailure } from "../../src/transport/failure.js";

const root = mkdtempSync(join(tmpdir(), "tsmicro-pinned-"));
after(() => rmSync(root, { recursive: true, force: true }));

const errno = (code: string, message = `${code} happened`) => Object.assign(new Error(message), { code });

describe("start-up and input errors (pinned)", { timeout: 10_000 }, () => {
  it("listenError says why in the user's terms for each errno, else the error's own message", () => {
    const why = (err: unknown) => listenError("greeter", "127.0.0.1:80", err).detail;
    assert.match(
      why(errno("EADDRINUSE")),
      /: the address is already in use \(EADDRINUSE\); another process listens there;/,
    );
    assert.match(why(errno("EACCES")), /: permission denied \(EACCES\); ports below 1024 need privileges;/);
    assert.match(why(errno("EADDRNOTAVAIL")), /: the address is not one of this host's \(EADDRNOTAVAIL\);/);
    assert.match(why(errno("EPERM", "operation not permitted")), /: operation not permitted;/);
    assert.match(why("a bare string"), /: a bare string;/);
    assert.match(why(new Error("")), /: Error;/, "an empty message falls back to the error itself");
    const e = listenError("greeter", "127.0.0.1:80", errno("EADDRINUSE"));
    assert.equal(e.id, "greeter");
    assert.equal(e.code, 500);
    assert.equal(e.retryable, false);
    assert.match(
      e.detail,
      /^service greeter could not listen on 127\.0\.0\.1:80: .*; choose another with newService\(\{ address \}\) \("127\.0\.0\.1:0" picks a free port\)$/,
    );
  });

  it("validate turns a schema's issues into one non-retryable error naming each path; formatPath reads both kinds of segment", async () => {
    assert.equal(formatPath("request", undefined), "request");
    assert.equal(formatPath("request", ["items", 2, { key: "id" }, { key: 0 }]), "request.items[2].id[0]");
    const schema: StandardSchemaV1<unknown, { n: number }> = {
      "~standard": {
        version: 1,
        vendor: "test",
        validate: (v) =>
          typeof (v as { n?: unknown }).n === "number"
            ? { value: { n: (v as { n: number }).n * 2 } }
            : { issues: [{ message: "expected a number", path: [{ key: "n" }] }, { message: "bad" }] },
      },
    };
    assert.deepEqual(
      await validate(schema, { n: 2 }, { id: "s", hop: "s.A.b", part: "request", code: 400 }),
      { n: 4 },
    );
    const async: StandardSchemaV1<unknown, string> = {
      "~standard": {
        version: 1,
        vendor: "test",
        validate: async () => ({ issues: [{ message: "later", path: ["x"] }] }),
      },
    };
    await assert.rejects(validate(async, {}, { id: "s", hop: "s.A.b", part: "message", code: 400 }), {
      detail: "invalid message for s.A.b: message.x: later",
    });
    await assert.rejects(
      validate(schema, {}, { id: "s", hop: "s.A.b", part: "response", code: 500 }),
      (e: unknown) => {
        assert.ok(e instanceof MicroError);
        assert.deepEqual([e.id, e.code, e.retryable], ["s", 500, false]);
        assert.equal(e.detail, "invalid response for s.A.b: response.n: expected a number; response: bad");
        return true;
      },
    );
  });

  it("secureRegistryDir accepts our own 0700 directory, creating it; refuses a file, naming the way out", () => {
    const dir = join(root, "fresh", "registry");
    secureRegistryDir(dir);
    secureRegistryDir(dir); // again, now that it exists
    const file = join(root, "a-file");
    writeFileSync(file, "");
    chmodSync(file, 0o600);
    assert.throws(
      () => secureRegistryDir(file),
      (e: unknown) => {
        assert.ok(e instanceof MicroError);
        assert.deepEqual([e.id, e.code, e.retryable], ["tsmicro", 500, false]);
        assert.equal(
          e.detail,
          `local registry directory ${file} is not a directory (choose another with MICRO_REGISTRY_DIR or createLocalRegistry({ dir }))`,
        );
        assert.equal(e.cause, undefined, "no cause when there was no underlying error");
        return true;
      },
    );
    assert.throws(
      () => secureRegistryDir(join(file, "under")),
      (e: unknown) =>
        e instanceof MicroError && /cannot be created: /.test(e.detail) && e.cause instanceof Error,
      "a directory that cannot be created carries the cause",
    );
  });

  it("only an error marked as a transport failure is one", () => {
    const marked = markTransportFailure(new MicroError({ id: "x", code: 503, detail: "dial refused" }));
    assert.equal(isTransportFailure(marked), true);
    assert.equal(isTransportFailure(new MicroError({ id: "x", code: 503, detail: "answered 503" })), false);
    for (const v of [null, undefined, "ECONNREFUSED", 503, { code: 503 }])
      assert.equal(isTransportFailure(v), false, String(v));
    assert.equal(
      Object.keys(JSON.parse(JSON.stringify(marked))).length,
      Object.keys(JSON.parse(JSON.stringify(new MicroError({ id: "x", code: 503, detail: "dial refused" }))))
        .length,
      "the mark is not a wire field",
    );
  });

  it("the selector's and the HTTP broker's options are checked, naming the component", () => {
    assert.throws(() => resolveSelectorOptions({ ejectMs: -1 }), {
      code: 400,
      detail: "selector option ejectMs must be a number ≥ 0, got -1",
    });
    assert.throws(() => resolveSelectorOptions({ registry: 5 }), {
      detail: "selector option registry must be an object, got 5",
    });
    assert.throws(() => resolveSelectorOptions({ strategy: "rr" }), {
      detail: /selector option strategy must be a function/,
    });
    for (const k of ["cacheTtlMs", "maxEjectMs", "graceMs"]) {
      assert.throws(() => resolveSelectorOptions({ [k]: -1 }), {
        detail: new RegExp(`selector option ${k} must be`),
      });
    }
    assert.equal(resolveSelectorOptions({}).ejectMs, 1000);
    assert.throws(() => resolveHttpBrokerOptions({ maxPending: 0 }), {
      code: 400,
      detail: "http broker option maxPending must be an integer ≥ 1, got 0",
    });
    for (const [k, v] of Object.entries({
      registry: 1,
      address: "",
      advertise: "",
      registerTtlMs: 0,
      registerIntervalMs: 0,
      maxMessageBytes: 1.5,
      cacheTtlMs: -1,
      maxSockets: 0,
      onError: "log",
    })) {
      assert.throws(
        () => resolveHttpBrokerOptions({ [k]: v }),
        { detail: new RegExp(`^http broker option ${k} must be`) },
        k,
      );
    }
    assert.equal(resolveHttpBrokerOptions(undefined).maxSockets, 16);
  });
});

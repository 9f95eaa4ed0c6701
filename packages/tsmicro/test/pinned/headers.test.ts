/**
 * The request header's wire form and every check made on it off the wire: behaviours the full
 * mutation run of transport/headers.ts (issue 20) found unpinned. A hostile or broken peer must
 * get a 400 from tsmicro that names the bad field, never a TypeError and never a silent accept.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MicroError } from "../../src/errors.js";
import {
  decodeRequestHeaders,
  decodeResponseContentType,
  encodeRequestHeaders,
  encodeResponseHeaders,
} from "../../src/transport/headers.js";

const limits = { maxHeaderBytes: 1024, maxMetadataEntries: 4 };
const decode = (text: string, l = limits) => decodeRequestHeaders(Buffer.from(text), l);

/** Decoding `text` fails with a 400 raised by tsmicro whose detail matches `detail`. */
function refused(text: string, detail: RegExp, l = limits) {
  assert.throws(
    () => decode(text, l),
    (e: unknown) => {
      assert.ok(e instanceof MicroError, `${text}: expected a MicroError, got ${String(e)}`);
      assert.equal(e.code, 400, text);
      assert.equal(e.id, "tsmicro", text);
      assert.match(e.detail, detail, text);
      return true;
    },
  );
}

const base = '"s":"svc","e":"E.m","c":"application/json"';

describe("request header wire form (pinned)", () => {
  it("a call with no metadata and no chain sends only service, endpoint, content type and timeout", () => {
    const text = encodeRequestHeaders({
      service: "svc",
      endpoint: "E.m",
      contentType: "application/json",
      timeoutMs: 99.2,
      metadata: {},
      chain: [],
    });
    assert.equal(text, `{${base},"t":100}`);
  });

  it("metadata and chain are sent when present, and read back as sent", () => {
    const text = encodeRequestHeaders({
      service: "svc",
      endpoint: "E.m",
      contentType: "application/json",
      metadata: { "x-a": "1" },
      chain: ["api.Get"],
    });
    assert.equal(text, `{${base},"m":{"x-a":"1"},"h":["api.Get"]}`);
    assert.deepEqual(decode(text), {
      service: "svc",
      endpoint: "E.m",
      contentType: "application/json",
      metadata: { "x-a": "1" },
      chain: ["api.Get"],
    });
  });

  it("the response header is empty for JSON and names any other content type", () => {
    assert.equal(encodeResponseHeaders("application/json"), "");
    assert.equal(encodeResponseHeaders("application/msgpack"), '{"c":"application/msgpack"}');
  });

  it("a response header that is empty, unreadable or without a text type means JSON", () => {
    for (const raw of ["", "garbage", '{"c":5}', "null", "{}"])
      assert.equal(decodeResponseContentType(Buffer.from(raw)), "application/json", JSON.stringify(raw));
    assert.equal(
      decodeResponseContentType(Buffer.from('{"c":"application/msgpack"}')),
      "application/msgpack",
    );
  });
});

describe("request header checks off the wire (pinned)", () => {
  it("a header of exactly maxHeaderBytes is read; one byte more is refused", () => {
    const text = `{${base}}`;
    assert.equal(decode(text, { ...limits, maxHeaderBytes: text.length }).service, "svc");
    refused(text, /request header of \d+ bytes exceeds the limit of \d+/, {
      ...limits,
      maxHeaderBytes: text.length - 1,
    });
  });

  it("text that is not JSON is refused", () => refused("{not json", /not valid JSON/));

  for (const text of ["null", "42", '"svc"', "[]", "true"]) {
    it(`JSON that is not an object (${text}) is refused as such`, () => refused(text, /not a JSON object/));
  }

  for (const [what, text] of [
    ["no service", '{"e":"E.m","c":"application/json"}'],
    ["an empty service", '{"s":"","e":"E.m","c":"application/json"}'],
    ["a service that is not text", '{"s":7,"e":"E.m","c":"application/json"}'],
  ]) {
    it(`${what} is refused: it lacks the service name`, () => refused(text!, /lacks the service name/));
  }

  for (const [what, text] of [
    ["no endpoint", '{"s":"svc","c":"application/json"}'],
    ["an empty endpoint", '{"s":"svc","e":"","c":"application/json"}'],
  ]) {
    it(`${what} is refused: it lacks the endpoint`, () => refused(text!, /lacks the endpoint/));
  }

  it("no content type is refused", () => refused('{"s":"svc","e":"E.m"}', /lacks the content type/));

  it("a timeout of 0 is read as 0; a negative or non-number one is refused", () => {
    assert.equal(decode(`{${base},"t":0}`).timeoutMs, 0);
    refused(`{${base},"t":-1}`, /timeout is not a number ≥ 0/);
    refused(`{${base},"t":"5"}`, /timeout is not a number ≥ 0/);
  });

  it("a chain of 1,024 text hops is read; a longer one, one with a non-text hop, or a non-list is refused", () => {
    const hops = Array.from({ length: 1024 }, (_, i) => `s${i}.E`);
    const big = { ...limits, maxHeaderBytes: 64 * 1024 };
    assert.equal(decode(`{${base},"h":${JSON.stringify(hops)}}`, big).chain?.length, 1024);
    const chainRule = /chain is not a list of at most 1024 strings/;
    refused(`{${base},"h":${JSON.stringify([...hops, "one.More"])}}`, chainRule, big);
    refused(`{${base},"h":["a.B",7]}`, chainRule);
    refused(`{${base},"h":[7,8]}`, chainRule);
    refused(`{${base},"h":"a.B"}`, chainRule);
  });

  it("metadata of exactly maxMetadataEntries entries is read; one more is refused", () => {
    const four = { a: "1", b: "2", c: "3", d: "4" };
    assert.deepEqual(decode(`{${base},"m":${JSON.stringify(four)}}`).metadata, four);
    refused(
      `{${base},"m":${JSON.stringify({ ...four, e: "5" })}}`,
      /request metadata has 5 entries, over the limit of 4/,
    );
  });

  it("metadata that is not an object of strings is refused, naming the key", () => {
    refused(`{${base},"m":[]}`, /metadata is not an object of strings/);
    refused(`{${base},"m":"x"}`, /metadata is not an object of strings/);
    refused(`{${base},"m":{"x-n":5}}`, /request metadata "x-n" is not a string/);
  });

  it('a "__proto__" key is refused, not silently dropped', () => {
    refused(`{${base},"m":{"__proto__":"x"}}`, /request metadata key "__proto__" is not allowed/);
    refused(`{${base},"m":{"__PROTO__":"x"}}`, /request metadata key "__proto__" is not allowed/);
  });

  it("keys are lower-cased, and two spellings of one key are refused", () => {
    assert.deepEqual(decode(`{${base},"m":{"Authorization":"t"}}`).metadata, { authorization: "t" });
    refused(
      `{${base},"m":{"Authorization":"a","authorization":"b"}}`,
      /request metadata key "authorization" appears twice \(keys are case-insensitive\)/,
    );
  });
});

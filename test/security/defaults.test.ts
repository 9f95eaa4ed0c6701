/**
 * Every default SECURITY.md states is the code's (issue 19): the TCP limits table and the
 * defaults table are parsed from the document and compared with the exported DEFAULT_*
 * constants, so the document cannot drift from the code again (it once said 256 in-flight
 * requests per connection while the code used 4,096).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

const doc = readFileSync(new URL("../../SECURITY.md", import.meta.url), "utf8");

/** The body rows of the first table after the line that contains `heading`, as cell lists. */
function table(heading: string): string[][] {
  const lines = doc.split("\n");
  const at = lines.findIndex((l) => l.includes(heading));
  assert.ok(at >= 0, `SECURITY.md has no "${heading}"`);
  const rows: string[][] = [];
  let i = at + 1;
  while (i < lines.length && !lines[i]!.startsWith("|")) i++;
  for (i += 2; i < lines.length && lines[i]!.startsWith("|"); i++) {
    rows.push(
      lines[i]!.split("|")
        .slice(1, -1)
        .map((c) => c.trim()),
    );
  }
  assert.ok(rows.length > 0, `the table after "${heading}" is empty`);
  return rows;
}

const UNITS: Record<string, number> = {
  KiB: 1024,
  MiB: 1024 * 1024,
  ms: 1,
  s: 1000,
  min: 60_000,
  h: 3_600_000,
};

/** A documented value: a backticked JSON string, or a number with an optional unit. */
function parseValue(cell: string): unknown {
  const quoted = /^`(".*")`$/.exec(cell);
  if (quoted) return JSON.parse(quoted[1]!);
  const m = /^([\d,.]+)\s*(KiB|MiB|ms|s|min|h)?$/.exec(cell);
  assert.ok(m, `cannot read the value "${cell}"`);
  return Number(m[1]!.replace(/,/g, "")) * (m[2] === undefined ? 1 : UNITS[m[2]]!);
}

async function resolve(pkg: string, path: string): Promise<unknown> {
  const mod = (await import(pkg)) as Record<string, unknown>;
  let v: unknown = mod;
  for (const part of path.split(".")) {
    assert.ok(v !== null && typeof v === "object" && part in v, `${pkg} has no ${path}`);
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

test("SECURITY.md's TCP limits table states DEFAULT_TCP_OPTIONS", async () => {
  const { DEFAULT_TCP_OPTIONS } = (await import("tsmicro/plugin")) as {
    DEFAULT_TCP_OPTIONS: Record<string, unknown>;
  };
  const rows = table("limit (TCP transport option)");
  let checked = 0;
  for (const [option, value] of rows) {
    const names = [...option!.matchAll(/`(\w+)`/g)].map((m) => m[1]!);
    const values = value!.split("/").map((v) => v.trim());
    assert.equal(
      names.length,
      values.length,
      `row "${option}" pairs ${names.length} options with ${values.length} values`,
    );
    names.forEach((name, i) => {
      assert.ok(name in DEFAULT_TCP_OPTIONS, `SECURITY.md names "${name}", which is no TCP option`);
      assert.equal(
        parseValue(values[i]!),
        DEFAULT_TCP_OPTIONS[name],
        `SECURITY.md states ${name} = ${values[i]}`,
      );
      checked++;
    });
  }
  assert.ok(checked >= 8, `only ${checked} limits checked`);
});

test("SECURITY.md's defaults table states the exported constants", async () => {
  const rows = table("### Defaults (checked by a test against the code)");
  for (const [setting, value, constant] of rows) {
    const m = /^`([@\w/-]+)` `([\w.]+)`$/.exec(constant!);
    assert.ok(m, `row "${setting}": cannot read the constant "${constant}"`);
    assert.deepEqual(parseValue(value!), await resolve(m[1]!, m[2]!), `SECURITY.md: ${setting} = ${value}`);
  }
  assert.ok(rows.length >= 14, `only ${rows.length} defaults checked`);
});

test("the checker catches a wrong default (negative control)", () => {
  assert.equal(parseValue("256"), 256);
  assert.notEqual(parseValue("256"), 4096);
  assert.equal(parseValue("4 MiB"), 4 * 1024 * 1024);
  assert.equal(parseValue("5 min"), 300_000);
  assert.equal(parseValue('`"127.0.0.1:8081"`'), "127.0.0.1:8081");
});

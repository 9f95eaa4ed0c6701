/**
 * Contract mistakes are compile errors. test/types/contract-errors.ts holds intended type
 * errors under `@ts-expect-error`; this test type-checks it as is (clean), with the directives
 * removed (each marked line must then fail), and with one directive on a correct line (an
 * unused directive must fail too, so the file cannot rot into passing for no reason).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const here = dirname(fileURLToPath(import.meta.url));
const file = join(here, "types", "contract-errors.ts");
const source = readFileSync(file, "utf8");
const DIRECTIVE = /^\s*\/\/ @ts-expect-error/;

const config = ts.getParsedCommandLineOfConfigFile(
  join(here, "types", "tsconfig.json"),
  {},
  {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, "\n"));
    },
  },
)!;

// One host and the previous program shared by the three checks: only the file under test is re-parsed.
const host = ts.createCompilerHost(config.options);
const parsed = new Map<string, ts.SourceFile | undefined>();
const getSourceFile = host.getSourceFile.bind(host);
let text = source;
let previous: ts.Program | undefined;
host.getSourceFile = (name, lang, ...rest) => {
  if (name === file) return ts.createSourceFile(name, text, lang);
  if (!parsed.has(name)) parsed.set(name, getSourceFile(name, lang, ...rest));
  return parsed.get(name);
};

/** Diagnostics of the file with `variant` in its place, as [line (1-based), code, message]. */
function check(variant: string): [number, number, string][] {
  text = variant;
  const program = ts.createProgram([file], config.options, host, previous);
  previous = program;
  return ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.file?.fileName === file)
    .map((d) => [
      d.file!.getLineAndCharacterOfPosition(d.start!).line + 1,
      d.code,
      ts.flattenDiagnosticMessageText(d.messageText, " "),
    ]);
}

test("the intended type errors file type-checks, and every directive sits on a real error", () => {
  assert.deepEqual(check(source), [], "the file as committed must type-check");

  const lines = source.split("\n");
  const expected = lines.flatMap((l, i) => (DIRECTIVE.test(l) ? [i + 2] : []));
  assert.ok(expected.length >= 15, `only ${expected.length} intended errors`);
  // Blank the directives (keeping line numbers) and see each marked line fail.
  const stripped = lines.map((l) => (DIRECTIVE.test(l) ? "" : l)).join("\n");
  const errorLines = new Set(check(stripped).map(([line]) => line));
  const silent = expected.filter((line) => !errorLines.has(line));
  assert.deepEqual(
    silent,
    [],
    `lines marked @ts-expect-error that compile without error: ${silent.join(", ")}`,
  );
});

test("a directive on a correct line fails the check (negative control)", () => {
  const marker = '  const r = await greeter.hello(ctx, { name: "Ada" });';
  assert.ok(source.includes(marker));
  const diags = check(source.replace(marker, `  // @ts-expect-error not an error\n${marker}`));
  assert.ok(
    diags.some(([, code]) => code === 2578),
    `expected "Unused '@ts-expect-error' directive", got ${JSON.stringify(diags)}`,
  );
});

// The shape of the code base, checked: the public entries (their size and documentation),
// which paths workspace packages may import, and that no module imports itself in a circle.
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import {
  badGateway,
  Code,
  loopDetected,
  type MicroError,
  notImplemented,
  statusText,
} from "../src/errors.js";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../../..");
const packages = join(root, "packages");

/** Public entry points of the core, as its package.json exports them. */
const ENTRIES = ["tsmicro", "tsmicro/plugin", "tsmicro/testing"];

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (name === "node_modules" || name === "dist" || name.startsWith(".")) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (/\.(ts|mts|mjs|js)$/.test(name) && !name.endsWith(".d.ts")) out.push(p);
  }
  return out;
}

/** Module specifiers a file imports or re-exports (static and dynamic), types included. */
function specifiers(source: string): string[] {
  const out: string[] = [];
  const re = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)["']([^"']+)["']/g;
  for (const m of source.matchAll(re)) out.push(m[1]!);
  return out;
}

/** Every cycle's members (Tarjan's strongly connected components of size > 1, or a self-import). */
export function circles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return found;
}

/** Relative imports between source files of every workspace package. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const pkg of readdirSync(packages)) {
    const src = join(packages, pkg, "src");
    if (!statSync(join(packages, pkg)).isDirectory()) continue;
    let files: string[];
    try {
      files = walk(src);
    } catch {
      continue;
    }
    for (const file of files) {
      const deps = specifiers(readFileSync(file, "utf8"))
        .filter((s) => s.startsWith("."))
        .map((s) => resolve(dirname(file), s).replace(/\.js$/, ".ts"));
      graph.set(relative(root, file), [...new Set(deps.map((d) => relative(root, d)))]);
    }
  }
  return graph;
}

describe("public surface", () => {
  it("the application entry exports at most 70 names, each documented where it is declared", () => {
    const entry = join(root, "packages/tsmicro/src/index.ts");
    const program = ts.createProgram([entry], {
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      noEmit: true,
    });
    const checker = program.getTypeChecker();
    const moduleSymbol = checker.getSymbolAtLocation(program.getSourceFile(entry)!)!;
    const exports = checker.getExportsOfModule(moduleSymbol);
    assert.ok(exports.length >= 40, `expected the entry to export its names, found ${exports.length}`);
    assert.ok(exports.length <= 70, `tsmicro exports ${exports.length} names (at most 70)`);
    const undocumented = exports
      .filter((s) => {
        const target = s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s;
        return ts.displayPartsToString(target.getDocumentationComment(checker)).trim() === "";
      })
      .map((s) => s.name);
    assert.deepEqual(undocumented, [], `exported without a doc comment: ${undocumented.join(", ")}`);
  });

  it("workspace packages import tsmicro only through its public entries", () => {
    const offenders: string[] = [];
    const dirs = [
      ...readdirSync(packages).map((p) => join(packages, p)),
      join(root, "examples"),
      join(root, "bench"),
    ];
    for (const dir of dirs) {
      if (!statSync(dir).isDirectory()) continue;
      for (const file of walk(dir)) {
        if (file.startsWith(join(packages, "tsmicro"))) continue;
        for (const s of specifiers(readFileSync(file, "utf8"))) {
          const intoCore = s.startsWith("tsmicro") || /(^|\/)tsmicro\/(src|dist)\//.test(s);
          if (intoCore && !ENTRIES.includes(s)) offenders.push(`${relative(root, file)} imports "${s}"`);
        }
      }
    }
    assert.deepEqual(offenders, []);
  });

  it("the entry check catches a deep import (negative control)", () => {
    const s = specifiers('import { Pool } from "tsmicro/dist/transport/pool.js";\nimport x from "tsmicro";');
    assert.deepEqual(
      s.filter((x) => !ENTRIES.includes(x)),
      ["tsmicro/dist/transport/pool.js"],
    );
  });

  it("no module imports itself through a circle", () => {
    const graph = importGraph();
    assert.ok(graph.size > 100, `expected the whole workspace's sources, found ${graph.size} files`);
    assert.deepEqual(circles(graph), []);
  });

  it("the circle check finds a circle (negative control)", () => {
    const graph = new Map([
      ["a", ["b"]],
      ["b", ["c"]],
      ["c", ["a"]],
      ["d", ["a"]],
    ]);
    assert.deepEqual(circles(graph), [["a", "b", "c"]]);
  });
});

describe("codes", () => {
  it("every code tsmicro raises has a name, a status text and a helper", () => {
    assert.equal(Code.NotImplemented, 501);
    assert.equal(Code.BadGateway, 502);
    assert.equal(Code.LoopDetected, 508);
    for (const [name, code] of Object.entries(Code)) {
      assert.notEqual(statusText(code), "Unknown", `${name} (${code}) has no status text`);
    }
    const made: [MicroError, number, string][] = [
      [notImplemented("svc", "d"), 501, "Not Implemented"],
      [badGateway("svc", "d"), 502, "Bad Gateway"],
      [loopDetected("svc", "d"), 508, "Loop Detected"],
    ];
    for (const [e, code, status] of made) {
      assert.equal(e.code, code);
      assert.equal(e.status, status);
    }
    assert.equal(badGateway("s", "d").retryable, true);
    assert.equal(loopDetected("s", "d").retryable, false);
  });
});

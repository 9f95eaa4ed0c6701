/**
 * Reads the `@default`s an options interface documents, for tests that check them against
 * what the code really fills in. Only literals are read (numbers, strings, booleans, JSON
 * arrays and objects; a number may be followed by a parenthesised gloss: `604800000 (7 days)`); prose
 * (`none`, `TCP`, `the process default registry`) says what cannot be compared and is skipped.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

/** `member → literal` for each member of `name` (an interface or object type) whose doc says `@default <literal>`. */
export function documentedDefaults(file: string | URL, name: string): Map<string, unknown> {
  return parseDefaults(readFileSync(file, "utf8"), name);
}

export function parseDefaults(src: string, name: string): Map<string, unknown> {
  const head = new RegExp(`export (?:interface|type) ${name}\\b[^{]*\\{`).exec(src);
  assert.ok(head !== null, `interface ${name}`);
  const open = head.index + head[0].length;
  let depth = 1;
  let end = open;
  while (depth > 0 && end < src.length) {
    const c = src[end++];
    if (c === "{") depth++;
    else if (c === "}") depth--;
  }
  const body = src.slice(open, end - 1);
  const out = new Map<string, unknown>();
  for (const m of body.matchAll(/\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\s*(\w+)\??:/g)) {
    const d = /@default\s+(.+?)\s*$/m.exec(m[1]!.replace(/\n\s*\*/g, "\n"));
    if (d === null) continue;
    const text = d[1]!.trim();
    let value: unknown;
    const number = /^(-?[\d_]+(?:\.\d+)?)(?:\s+\([^)]*\))?$/.exec(text);
    if (number !== null) value = Number(number[1]!.replace(/_/g, ""));
    else if (/^"[^"]*"$/.test(text)) value = text.slice(1, -1);
    else if (text === "true" || text === "false") value = text === "true";
    else if (/^\[.*\]$|^\{.*\}$/.test(text)) {
      try {
        value = JSON.parse(text);
      } catch {
        continue; // `[a, b]` in prose
      }
    } else continue;
    out.set(m[2]!, value);
  }
  return out;
}

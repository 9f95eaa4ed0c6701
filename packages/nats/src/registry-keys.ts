/**
 * KV keys for registry nodes: `<service>.<version>.<node id>`. NATS keys allow only
 * `[-/_=.a-zA-Z0-9]` and use `.` between tokens, so every other byte (and `.`, `=`, `/`) is
 * written `=XX` in hex; an empty part is a lone `=`. Common names stay readable
 * (`greeter.latest.greeter-5f0c...`).
 */

const PLAIN = /^[A-Za-z0-9_-]$/;

export function keyToken(part: string): string {
  if (part === "") return "=";
  let out = "";
  for (const ch of part) {
    if (PLAIN.test(ch)) out += ch;
    else for (const b of Buffer.from(ch, "utf8")) out += `=${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

export function fromKeyToken(token: string): string {
  if (token === "=") return "";
  const bytes: number[] = [];
  for (let i = 0; i < token.length; i++) {
    if (token[i] === "=") {
      bytes.push(Number.parseInt(token.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(token.charCodeAt(i));
    }
  }
  return Buffer.from(bytes).toString("utf8");
}

export function nodeKey(name: string, version: string, nodeId: string): string {
  return `${keyToken(name)}.${keyToken(version)}.${keyToken(nodeId)}`;
}

/** The KV filter for every node of one service, or of all services. */
export function serviceFilter(name?: string): string {
  return name === undefined ? ">" : `${keyToken(name)}.>`;
}

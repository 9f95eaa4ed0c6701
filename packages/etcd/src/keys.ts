/** Key layout under the prefix: `<service>/<version>/<node id>`, each part URI-encoded. */

export function serviceKey(name: string): string {
  return `${encodeURIComponent(name)}/`;
}

export function nodeKey(name: string, version: string, nodeId: string): string {
  return `${serviceKey(name)}${encodeURIComponent(version)}/${encodeURIComponent(nodeId)}`;
}

/** The parts of a node key, or undefined for a key this registry did not write. */
export function parseNodeKey(key: string): { name: string; version: string; nodeId: string } | undefined {
  const parts = key.split("/");
  if (parts.length !== 3) return undefined;
  try {
    const [name, version, nodeId] = parts.map(decodeURIComponent) as [string, string, string];
    return { name, version, nodeId };
  } catch {
    return undefined;
  }
}

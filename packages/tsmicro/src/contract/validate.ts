/** Runs a Standard Schema and turns its issues into a MicroError that names the field path. */
import { MicroError } from "../errors.js";
import type { StandardSchemaV1 } from "./standard-schema.js";

/** `request.name.first`, `request.items[2].id`; just `request` for an issue about the value itself. */
export function formatPath(root: string, path: StandardSchemaV1.Issue["path"]): string {
  let out = root;
  for (const seg of path ?? []) {
    const key = typeof seg === "object" && seg !== null ? (seg as StandardSchemaV1.PathSegment).key : seg;
    out += typeof key === "number" ? `[${key}]` : `.${String(key)}`;
  }
  return out;
}

/**
 * Validates `value`; resolves with the schema's output (which may be transformed), or throws
 * a MicroError with `code` whose detail lists each issue as `what.path: message`.
 */
export async function validate<T>(
  schema: StandardSchemaV1<unknown, T>,
  value: unknown,
  what: { id: string; hop: string; part: "request" | "response" | "message"; code: number },
): Promise<T> {
  let result = schema["~standard"].validate(value);
  if (result instanceof Promise) result = await result;
  if (result.issues === undefined) return result.value;
  const issues = result.issues.map((i) => `${formatPath(what.part, i.path)}: ${i.message}`);
  throw new MicroError({
    id: what.id,
    code: what.code,
    detail: `invalid ${what.part} for ${what.hop}: ${issues.join("; ")}`,
    retryable: false,
  });
}

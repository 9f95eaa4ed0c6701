/**
 * The local registry's directory is a trust root: whoever can write a lease there steers
 * calls. So it is per user by default, created 0700, and a directory that is a symbolic
 * link, owned by another user or writable by others is refused.
 */
import { lstatSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MicroError } from "../errors.js";

/** `$MICRO_REGISTRY_DIR`, else `$XDG_RUNTIME_DIR/tsmicro-registry`, else `<tmpdir>/tsmicro-<uid>`. */
export function defaultLocalRegistryDir(): string {
  if (process.env.MICRO_REGISTRY_DIR) return process.env.MICRO_REGISTRY_DIR;
  if (process.env.XDG_RUNTIME_DIR) return join(process.env.XDG_RUNTIME_DIR, "tsmicro-registry");
  return join(tmpdir(), `tsmicro-${process.getuid?.() ?? "user"}`);
}

/** Creates `dir` (0700) if missing, then refuses it unless it is a real directory of ours that only we can write. */
export function secureRegistryDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== "EEXIST") throw refuse(dir, `cannot be created: ${(err as Error).message}`, err);
  }
  const st = lstatSync(dir);
  if (st.isSymbolicLink()) throw refuse(dir, "is a symbolic link; give the real directory");
  if (!st.isDirectory()) throw refuse(dir, "is not a directory");
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) {
    throw refuse(
      dir,
      `is owned by uid ${st.uid}, not by this process's uid ${uid}; another user could plant leases in it`,
    );
  }
  if ((st.mode & 0o022) !== 0) {
    throw refuse(
      dir,
      `is writable by others (mode ${(st.mode & 0o777).toString(8).padStart(4, "0")}); another user could plant leases in it: chmod 700 it`,
    );
  }
}

function refuse(dir: string, why: string, cause?: unknown): MicroError {
  return new MicroError({
    id: "tsmicro",
    code: 500,
    detail: `local registry directory ${dir} ${why} (choose another with MICRO_REGISTRY_DIR or createLocalRegistry({ dir }))`,
    retryable: false,
    ...(cause === undefined ? {} : { cause }),
  });
}

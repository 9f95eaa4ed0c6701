/**
 * The zero-infrastructure default: processes on one host find each other through a
 * directory of lease files, one per node, each with its expiry. Writes are atomic
 * (write + rename); readers skip and clean up expired leases; watchers get events from
 * fs.watch, one file read per change, with a poll to notice expiries (files that nobody
 * deletes) and an occasional full rescan.
 */
import { type FSWatcher, watch as fsWatch, readdirSync, readFileSync } from "node:fs";
import { readdir, readFile, rename, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { badRequest } from "../errors.js";
import { type IntervalTimer, startInterval, stopInterval } from "../util/deadline.js";
import { defaultLocalRegistryDir, secureRegistryDir } from "./local-dir.js";
import type { RegisterOptions, Registry, RegistryEvent, RegistryRow, Service } from "./registry.js";
import {
  diff,
  isLive,
  parseRegistryRow,
  registryEventOf,
  registryRowsOf,
  rowKey,
  sameRow,
  servicesOfRows,
  type Table,
} from "./table.js";
import { checkExpiry, DEFAULT_RECORD_LIMITS } from "./validate.js";
import { WatcherSet } from "./watchers.js";

export { defaultLocalRegistryDir };

export interface LocalRegistryOptions {
  /**
   * The lease directory, created 0700; one that is a symbolic link, owned by another user or
   * writable by others is refused (local-dir.ts).
   * @default $MICRO_REGISTRY_DIR, else `$XDG_RUNTIME_DIR/tsmicro-registry`, else `<os tmpdir>/tsmicro-<uid>`
   */
  dir?: string;
  /** How often watchers check for expired leases, in ms (every 20th check rescans the directory). @default 500 */
  pollMs?: number;
}

export const DEFAULT_LOCAL_POLL_MS = 500;

const SUFFIX = ".lease.json";

function fileName(row: RegistryRow): string {
  return `${encodeURIComponent(row.name)}@${encodeURIComponent(row.version)}@${encodeURIComponent(row.node.id)}${SUFFIX}`;
}

/** The registry key of a lease file's node, from its name alone (the file may be gone). */
function keyOfFile(file: string): string | undefined {
  const parts = file.slice(0, -SUFFIX.length).split("@");
  if (parts.length !== 3) return undefined;
  try {
    const [name, version, nodeId] = parts.map(decodeURIComponent) as [string, string, string];
    return rowKey(name, version, nodeId);
  } catch {
    return undefined;
  }
}

/** A full rescan every this many polls, for changes fs.watch may have missed. */
const FULL_SCAN_EVERY = 20;

export function createLocalRegistry(options: LocalRegistryOptions = {}): Registry {
  const dir = options.dir ?? defaultLocalRegistryDir();
  const pollMs = options.pollMs ?? DEFAULT_LOCAL_POLL_MS;
  let ready: Promise<void> | undefined;
  const ensureDir = () => {
    ready ??= Promise.resolve().then(() => secureRegistryDir(dir));
    // Refused: say so on every use (it may be fixed meanwhile, then the next use checks again).
    ready.catch(() => {
      ready = undefined;
    });
    return ready;
  };

  // Concurrent reads share directory listings: a selector filling its cache for 1,000
  // services at once made 1,000 listings of the whole directory (5.3 s for 1,000 × 3 leases,
  // 11 s in the scale bench). A caller never joins a listing begun before it asked (it could
  // miss a lease written just before): it waits for the next one, started after the running
  // one ends and shared by everyone who asked meanwhile.
  let listing: Promise<string[]> | undefined;
  let queued: Promise<string[]> | undefined;
  const listDir = (): Promise<string[]> => {
    if (listing === undefined) {
      listing = readdir(dir).finally(() => {
        listing = undefined;
      });
      return listing;
    }
    queued ??= listing
      .catch(() => {})
      .then(() => {
        queued = undefined;
        return listDir();
      });
    return queued;
  };

  /** Live leases whose file name starts with `prefix`; expired ones are swept. */
  const scan = async (prefix = ""): Promise<Table> => {
    await ensureDir();
    const names = await listDir();
    const now = Date.now();
    const table: Table = new Map();
    // Filtered before any promise is made: one service's read must not cost a promise per lease.
    const mine = names.filter((name) => name.endsWith(SUFFIX) && name.startsWith(prefix));
    await Promise.all(
      mine.map(async (name) => {
        const row = await readRow(join(dir, name));
        if (row === undefined) return;
        if (!isLive(row, now)) {
          // Anyone may sweep an expired lease; a racing refresh rewrites it anyway.
          await unlink(join(dir, name)).catch(() => {});
          return;
        }
        table.set(rowKey(row.name, row.version, row.node.id), row);
      }),
    );
    return table;
  };

  // One scanner per registry instance, running only while someone watches. It follows
  // fs.watch file by file (one read per change, whatever the number of leases), times out
  // expired leases from memory on each poll, and rescans everything now and then.
  let last: Table = new Map();
  let fsWatcher: FSWatcher | undefined;
  let scanning = false;
  let poll: IntervalTimer; // none with pollMs: Infinity
  let polls = 0;
  let fsWatchWorks = true;
  let work: Promise<void> = Promise.resolve();
  const changed = new Set<string>();
  let fullScanDue = false;
  const watchers = new WatcherSet(() => stopScanner());

  // All updates of `last` run one after another, so events keep the order of the changes.
  const enqueue = (task: () => Promise<void>) => {
    work = work.then(task).catch(() => {
      // The directory may be briefly unreadable; the next poll or change retries.
    });
  };

  const applyFiles = async () => {
    if (fullScanDue) {
      fullScanDue = false;
      changed.clear();
      const next = await scan();
      const events = diff(last, next);
      last = next;
      watchers.emit(events);
      return;
    }
    const files = [...changed];
    changed.clear();
    const now = Date.now();
    const rows = await Promise.all(files.map((f) => readRow(join(dir, f))));
    const events: RegistryEvent[] = [];
    files.forEach((file, i) => {
      const key = keyOfFile(file);
      if (key === undefined) return;
      const row = rows[i];
      const old = last.get(key);
      if (row === undefined || !isLive(row, now)) {
        if (old === undefined) return;
        last.delete(key);
        events.push(registryEventOf("delete", old));
        return;
      }
      last.set(key, row);
      if (old === undefined) events.push(registryEventOf("create", row));
      else if (!sameRow(old, row)) events.push(registryEventOf("update", row));
    });
    watchers.emit(events);
  };

  const onChange = (file: string | null) => {
    if (file === null) fullScanDue = true;
    else if (file.endsWith(SUFFIX)) changed.add(file);
    else return; // a temporary file being written
    enqueue(applyFiles);
  };

  const expire = () => {
    if (!fsWatchWorks || ++polls % FULL_SCAN_EVERY === 0) {
      fullScanDue = true;
      enqueue(applyFiles);
      return;
    }
    enqueue(async () => {
      const now = Date.now();
      const events: RegistryEvent[] = [];
      for (const [key, row] of last) {
        if (isLive(row, now)) continue;
        last.delete(key);
        events.push(registryEventOf("delete", row));
        // Nobody refreshed it: sweep the file (a racing refresh rewrites it anyway).
        void unlink(join(dir, fileName(row))).catch(() => {});
      }
      watchers.emit(events);
    });
  };

  const startScanner = () => {
    if (scanning) return;
    try {
      secureRegistryDir(dir);
    } catch {
      // Refused: the watch ends at once; getService says why.
      watchers.stopAll();
      return;
    }
    scanning = true;
    poll = startInterval(expire, pollMs, true);
    // Synchronous baseline: a registration right after watch() must show up as an event.
    last = scanSync(dir);
    try {
      fsWatcher = fsWatch(dir, { persistent: false }, (_type, file) => onChange(file));
      fsWatcher.on("error", () => {});
    } catch {
      // Without fs.watch, every poll rescans.
      fsWatchWorks = false;
    }
  };

  const stopScanner = () => {
    scanning = false;
    stopInterval(poll);
    poll = undefined;
    fsWatcher?.close();
    fsWatcher = undefined;
  };

  return {
    name: `local (${dir})`,
    async register(service: Service, opts: RegisterOptions = {}) {
      const ttl = opts.ttlMs ?? 0;
      const expiresAt = ttl > 0 ? Date.now() + ttl : 0;
      // Every reader refuses such a lease (it would outlive a crashed process): say so here.
      const refused = checkExpiry(expiresAt);
      if (refused !== undefined) {
        throw badRequest(
          "tsmicro",
          `local registry: cannot register ${service.name}: ${refused}; pass ttlMs between 1 and ${DEFAULT_RECORD_LIMITS.maxTtlMs}`,
        );
      }
      await ensureDir();
      await Promise.all(
        registryRowsOf(service, expiresAt).map(async (row) => {
          const file = join(dir, fileName(row));
          const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
          // Only this user reads its leases (they name addresses and metadata).
          await writeFile(tmp, JSON.stringify(row), { mode: 0o600, flag: "wx" });
          await rename(tmp, file);
        }),
      );
    },
    async deregister(service: Service) {
      await Promise.all(
        registryRowsOf(service, 0).map((row) => unlink(join(dir, fileName(row))).catch(() => {})),
      );
    },
    async getService(name: string) {
      // Only this service's files are read: their names start with it.
      const table = await scan(`${encodeURIComponent(name)}@`);
      return servicesOfRows(table.values());
    },
    async listServices() {
      return servicesOfRows((await scan()).values());
    },
    watch(opts) {
      const w = watchers.add(opts);
      startScanner();
      return w;
    },
    async close() {
      watchers.stopAll();
      stopScanner();
    },
  };
}

async function readRow(path: string): Promise<RegistryRow | undefined> {
  try {
    return parseRegistryRow(await readFile(path, "utf8"));
  } catch {
    // Deleted between readdir and read: not a lease any more.
    return undefined;
  }
}

function scanSync(dir: string): Table {
  const table: Table = new Map();
  const now = Date.now();
  try {
    for (const name of readdirSync(dir)) {
      if (!name.endsWith(SUFFIX)) continue;
      let row: RegistryRow | undefined;
      try {
        row = parseRegistryRow(readFileSync(join(dir, name), "utf8"));
      } catch {
        continue;
      }
      if (row !== undefined && isLive(row, now)) table.set(rowKey(row.name, row.version, row.node.id), row);
    }
  } catch {
    // An unreadable directory starts empty; the poll fills it in.
  }
  return table;
}

/**
 * The zero-infrastructure default: processes on one host find each other through a
 * directory of lease files, one per node, each with its expiry. Writes are atomic
 * (write + rename); readers skip and clean up expired leases; watchers get events from
 * fs.watch, with a poll to notice expiries (files that nobody deletes).
 */
import { type FSWatcher, watch as fsWatch, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { mkdir, readdir, readFile, rename, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RegisterOptions, Registry, Service } from "./registry.js";
import { diff, isLive, parseRow, type Row, rowKey, rowsOf, servicesOf, type Table } from "./table.js";
import { WatcherSet } from "./watchers.js";

export interface LocalRegistryOptions {
  /** The lease directory. @default $MICRO_REGISTRY_DIR, else `<os tmpdir>/tsmicro-registry` */
  dir?: string;
  /** How often watchers rescan to notice expired leases, in ms. @default 500 */
  pollMs?: number;
}

export const DEFAULT_LOCAL_POLL_MS = 500;

export function defaultLocalRegistryDir(): string {
  return process.env.MICRO_REGISTRY_DIR || join(tmpdir(), "tsmicro-registry");
}

const SUFFIX = ".lease.json";

function fileName(row: Row): string {
  return `${encodeURIComponent(row.name)}@${encodeURIComponent(row.version)}@${encodeURIComponent(row.node.id)}${SUFFIX}`;
}

export function createLocalRegistry(options: LocalRegistryOptions = {}): Registry {
  const dir = options.dir ?? defaultLocalRegistryDir();
  const pollMs = options.pollMs ?? DEFAULT_LOCAL_POLL_MS;
  let ready: Promise<void> | undefined;
  const ensureDir = () => {
    ready ??= mkdir(dir, { recursive: true }).then(() => undefined);
    return ready;
  };

  const scan = async (): Promise<Table> => {
    await ensureDir();
    const now = Date.now();
    const table: Table = new Map();
    const names = await readdir(dir);
    await Promise.all(
      names.map(async (name) => {
        if (!name.endsWith(SUFFIX)) return;
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

  // One scanner per registry instance, running only while someone watches.
  let last: Table = new Map();
  let fsWatcher: FSWatcher | undefined;
  let poll: NodeJS.Timeout | undefined;
  let scanning: Promise<void> | undefined;
  let rescanAgain = false;
  const watchers = new WatcherSet(() => stopScanner());

  const rescan = (): Promise<void> => {
    if (scanning) {
      rescanAgain = true;
      return scanning;
    }
    scanning = (async () => {
      do {
        rescanAgain = false;
        try {
          const next = await scan();
          const events = diff(last, next);
          last = next;
          watchers.emit(events);
        } catch {
          // The directory may be briefly unreadable; the next poll retries.
        }
      } while (rescanAgain && watchers.size > 0);
      scanning = undefined;
    })();
    return scanning;
  };

  const startScanner = () => {
    if (poll !== undefined) return;
    poll = setInterval(() => void rescan(), pollMs);
    poll.unref();
    // Synchronous baseline: a registration right after watch() must show up as an event.
    last = scanSync(dir);
    try {
      fsWatcher = fsWatch(dir, { persistent: false }, () => void rescan());
      fsWatcher.on("error", () => {});
    } catch {
      // Polling alone still works.
    }
  };

  const stopScanner = () => {
    clearInterval(poll);
    poll = undefined;
    fsWatcher?.close();
    fsWatcher = undefined;
  };

  return {
    name: `local (${dir})`,
    async register(service: Service, opts: RegisterOptions = {}) {
      await ensureDir();
      const ttl = opts.ttlMs ?? 0;
      await Promise.all(
        rowsOf(service, ttl > 0 ? Date.now() + ttl : 0).map(async (row) => {
          const file = join(dir, fileName(row));
          const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
          await writeFile(tmp, JSON.stringify(row));
          await rename(tmp, file);
        }),
      );
    },
    async deregister(service: Service) {
      await Promise.all(rowsOf(service, 0).map((row) => unlink(join(dir, fileName(row))).catch(() => {})));
    },
    async getService(name: string) {
      const table = await scan();
      return servicesOf([...table.values()].filter((r) => r.name === name));
    },
    async listServices() {
      return servicesOf((await scan()).values());
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

async function readRow(path: string): Promise<Row | undefined> {
  try {
    return parseRow(await readFile(path, "utf8"));
  } catch {
    // Deleted between readdir and read: not a lease any more.
    return undefined;
  }
}

function scanSync(dir: string): Table {
  const table: Table = new Map();
  const now = Date.now();
  try {
    mkdirSync(dir, { recursive: true });
    for (const name of readdirSync(dir)) {
      if (!name.endsWith(SUFFIX)) continue;
      let row: Row | undefined;
      try {
        row = parseRow(readFileSync(join(dir, name), "utf8"));
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

/**
 * Runs each service of a project as a child process: restarts a service whose files change
 * (SIGTERM first: the service deregisters, drains its in-flight calls and exits; then the new
 * one starts), and restarts a crashed one with exponential backoff. Only the affected service
 * restarts; the others keep serving.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { type FSWatcher, statSync, watch } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { pathToFileURL } from "node:url";
import { type DeadlineTimer, startTimer, stopTimer } from "tsmicro/plugin";
import type { Prefixer } from "./prefix.js";
import type { ServiceSpec } from "./project.js";

export interface SupervisorOptions {
  /** Wait before the first restart of a crashed service; doubles per crash. @default 250 */
  backoffMs?: number;
  /** Cap on the backoff. @default 10000 */
  maxBackoffMs?: number;
  /** A service that ran this long without crashing starts its backoff afresh. @default 10000 */
  stableMs?: number;
  /** How long a stopping service may drain before SIGKILL. @default 10000 */
  stopTimeoutMs?: number;
  /** Changes closer together than this restart once. @default 100 */
  debounceMs?: number;
}

/** The `--import` for .ts entries: tsx from the project, else the CLI's own. */
function tsxImport(entry: string): string | undefined {
  for (const from of [join(dirname(entry), "package.json"), import.meta.url]) {
    try {
      return pathToFileURL(createRequire(from).resolve("tsx")).href;
    } catch {}
  }
  return undefined;
}

class Supervised {
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #crashes = 0;
  #startedAt = 0;
  #timer: DeadlineTimer;
  #watchers: FSWatcher[] = [];
  #debounce: DeadlineTimer;
  #restarting = false;
  #stopped = false;

  constructor(
    readonly spec: ServiceSpec,
    readonly index: number,
    readonly cwd: string,
    readonly out: Prefixer,
    readonly opts: Required<SupervisorOptions>,
  ) {}

  say(text: string): void {
    this.out.say(this.spec.name, this.index, text);
  }

  start(): void {
    if (this.#stopped) return;
    const { entry } = this.spec;
    const args: string[] = [];
    if (/\.(c|m)?ts$/.test(entry)) {
      const tsx = tsxImport(entry);
      if (tsx === undefined) {
        this.say(
          `cannot run ${relative(this.cwd, entry)}: install tsx (npm install -D tsx) to run TypeScript`,
        );
        return;
      }
      args.push("--import", tsx);
    }
    args.push(entry);
    const child = spawn(process.execPath, args, {
      cwd: this.cwd,
      env: { ...process.env, ...this.spec.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.#child = child;
    this.#startedAt = Date.now();
    this.out.pipe(child.stdout!, this.spec.name, this.index);
    this.out.pipe(child.stderr!, this.spec.name, this.index);
    this.say(`started ${relative(this.cwd, entry)} (pid ${child.pid})`);
    this.#exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        if (this.#child === child) this.#child = undefined;
        resolve();
        if (this.#stopped || this.#restarting) return;
        this.#crashed(code, signal);
      });
    });
  }

  #crashed(code: number | null, signal: NodeJS.Signals | null): void {
    if (Date.now() - this.#startedAt >= this.opts.stableMs) this.#crashes = 0;
    const delay = Math.min(this.opts.backoffMs * 2 ** this.#crashes, this.opts.maxBackoffMs);
    this.#crashes++;
    const how = signal === null ? `code ${code}` : `signal ${signal}`;
    this.say(`exited with ${how}; restart ${this.#crashes} in ${delay}ms`);
    this.#timer = startTimer(() => {
      this.#timer = undefined;
      this.start();
    }, delay);
  }

  /** SIGTERM (the service deregisters and drains), SIGKILL if it takes longer than the timeout. */
  async stopChild(): Promise<void> {
    stopTimer(this.#timer);
    this.#timer = undefined;
    const child = this.#child;
    if (child === undefined || child.exitCode !== null) return;
    child.kill("SIGTERM");
    const kill = startTimer(() => {
      this.say(`still draining after ${this.opts.stopTimeoutMs}ms: SIGKILL`);
      child.kill("SIGKILL");
    }, this.opts.stopTimeoutMs);
    await this.#exited;
    stopTimer(kill);
  }

  async restart(why: string): Promise<void> {
    if (this.#stopped || this.#restarting) return;
    this.#restarting = true;
    const started = Date.now();
    this.say(`restarting (${why})`);
    try {
      await this.stopChild();
      this.#crashes = 0;
      this.say(`stopped in ${Date.now() - started}ms`);
      this.start();
    } finally {
      this.#restarting = false;
    }
  }

  watch(): void {
    for (const path of this.spec.watch) {
      try {
        const isDir = statSync(path).isDirectory();
        const w = watch(path, { recursive: isDir }, (_event, file) => {
          const name = file === null || !isDir ? path : join(path, file.toString());
          if (/(^|\/)(node_modules|\.git)(\/|$)/.test(name)) return;
          stopTimer(this.#debounce);
          this.#debounce = startTimer(
            () => void this.restart(`${relative(this.cwd, name)} changed`),
            this.opts.debounceMs,
          );
        });
        w.on("error", () => {});
        this.#watchers.push(w);
      } catch (err) {
        this.say(`cannot watch ${path}: ${(err as Error).message}`);
      }
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    stopTimer(this.#debounce);
    for (const w of this.#watchers) w.close();
    await this.stopChild();
  }
}

export class Supervisor {
  readonly #services: Supervised[];

  constructor(specs: readonly ServiceSpec[], cwd: string, out: Prefixer, options: SupervisorOptions = {}) {
    const opts: Required<SupervisorOptions> = {
      backoffMs: options.backoffMs ?? 250,
      maxBackoffMs: options.maxBackoffMs ?? 10_000,
      stableMs: options.stableMs ?? 10_000,
      stopTimeoutMs: options.stopTimeoutMs ?? 10_000,
      debounceMs: options.debounceMs ?? 100,
    };
    this.#services = specs.map((s, i) => new Supervised(s, i, cwd, out, opts));
  }

  start(): void {
    for (const s of this.#services) {
      s.start();
      s.watch();
    }
  }

  /** Stops every service (each drains), in parallel. */
  async stop(): Promise<void> {
    await Promise.all(this.#services.map((s) => s.stop()));
  }
}

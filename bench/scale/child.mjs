// The scale bench's parent ↔ child plumbing: spawn `node [flags] bench/scale/<file> <config>`,
// read its tagged JSON lines (bench/lib/stats.mjs `report`), send it jobs as JSON lines, and
// make sure nothing outlives the run. Every wait is bounded and names what it waited for.
import { spawn } from "node:child_process";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseReport } from "../lib/stats.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const children = new Set();
process.on("exit", () => {
  for (const proc of children) proc.kill("SIGKILL");
});
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => process.exit(130));
}

/** `file` in bench/scale, with node `flags` (e.g. --expose-gc) and a JSON config argument. */
export function spawnChild(file, config, flags = ["--expose-gc"]) {
  // Through sh: raise the open-files limit to the hard limit (10,000 sockets need more than
  // the usual soft 1,024) for this child only.
  // SCALE_CPU_PROF=<dir>: every child writes a CPU profile there (node --cpu-prof).
  const prof = process.env.SCALE_CPU_PROF
    ? ["--cpu-prof", `--cpu-prof-dir=${process.env.SCALE_CPU_PROF}`]
    : [];
  const args = [...flags, ...prof, path.join(here, file), JSON.stringify(config)];
  const proc = spawn(
    "sh",
    ["-c", 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$0" "$@"', process.execPath, ...args],
    {
      stdio: ["pipe", "pipe", "pipe"],
    },
  );
  children.add(proc);
  proc.stdin.on("error", () => {});
  let stderr = "";
  proc.stderr.on("data", (d) => {
    stderr = (stderr + d).slice(-4000);
  });
  const messages = [];
  const waiters = [];
  let exitError;
  createInterface({ input: proc.stdout }).on("line", (line) => {
    const msg = parseReport(line);
    if (msg) waiters.length ? waiters.shift().resolve(msg) : messages.push(msg);
  });
  proc.on("exit", (code, signal) => {
    children.delete(proc);
    exitError = new Error(`${file} exited (${signal ?? code})${stderr ? `: ${stderr.trim()}` : ""}`);
    for (const w of waiters.splice(0)) w.reject(exitError);
  });
  const next = (what, timeoutMs) => {
    if (messages.length) return Promise.resolve(messages.shift());
    if (exitError) return Promise.reject(exitError);
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      const timer = setTimeout(() => {
        waiters.splice(waiters.indexOf(waiter), 1);
        reject(
          new Error(
            `${file}: no ${what} within ${timeoutMs} ms${stderr ? `; stderr: ${stderr.trim()}` : ""}`,
          ),
        );
      }, timeoutMs);
      waiters.push(waiter);
    });
  };
  return {
    pid: proc.pid,
    /** Send a job, wait for its answer (an `error` answer throws). */
    async ask(job, timeoutMs = 60_000) {
      proc.stdin.write(`${JSON.stringify(job)}\n`);
      const msg = await next(`answer to ${job.type}`, timeoutMs);
      if (msg.type === "error") throw new Error(`${file}: ${msg.error}`);
      return msg;
    },
    async ready(timeoutMs = 30_000) {
      const msg = await next("ready message", timeoutMs);
      if (msg.type !== "ready") throw new Error(`${file}: ${msg.error ?? JSON.stringify(msg)}`);
      return msg;
    },
    stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
      return new Promise((resolve) => {
        const kill = setTimeout(() => proc.kill("SIGKILL"), 3000);
        proc.once("exit", () => {
          clearTimeout(kill);
          resolve();
        });
        proc.stdin.end();
      });
    },
  };
}

/**
 * Child side: answer each job line on stdin with `handlers[job.type](job)`'s result (tagged
 * `type: "done"`), or an error. Exits when stdin closes (the parent went away).
 */
export async function serveJobs(handlers, report, onExit = async () => {}) {
  for await (const line of createInterface({ input: process.stdin })) {
    const job = JSON.parse(line);
    try {
      const handler = handlers[job.type];
      if (handler === undefined) throw new Error(`unknown job ${job.type}`);
      report({ type: "done", ...(await handler(job)) });
    } catch (err) {
      report({ type: "error", error: String(err?.stack ?? err) });
    }
  }
  await onExit();
  process.exit(0);
}

/** Heap, external (Buffers included) and RSS in bytes, after two full GCs. */
export function memory() {
  globalThis.gc?.();
  globalThis.gc?.();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, external: m.external, rss: m.rss };
}

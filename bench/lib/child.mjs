// A benchmark child process: tagged JSON lines out (the first one "ready"), jobs as JSON lines
// in, and it exits when its stdin closes. Every child is SIGKILLed if the parent exits first.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { parseReport } from "./stats.mjs";

const children = new Set();
process.on("exit", () => {
  for (const p of children) p.kill("SIGKILL");
});

/** Starts `node ...nodeArgs file <config JSON>` and waits (≤ 20 s) for its "ready" line. */
export async function startChild(file, config, nodeArgs = []) {
  const proc = spawn(process.execPath, [...nodeArgs, file, JSON.stringify(config)], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  children.add(proc);
  proc.stdin.on("error", () => {});
  let stderr = "";
  proc.stderr.on("data", (d) => {
    stderr = (stderr + d).slice(-2000);
  });
  const inbox = [];
  let waiter;
  let exited;
  createInterface({ input: proc.stdout }).on("line", (line) => {
    const msg = parseReport(line);
    if (msg === undefined) return;
    if (waiter) {
      const w = waiter;
      waiter = undefined;
      w.resolve(msg);
    } else inbox.push(msg);
  });
  proc.on("exit", (code) => {
    children.delete(proc);
    exited = new Error(`${file} exited (${code}): ${stderr.trim()}`);
    waiter?.reject(exited);
  });
  const next = (timeoutMs) =>
    inbox.length > 0
      ? Promise.resolve(inbox.shift())
      : exited
        ? Promise.reject(exited)
        : new Promise((resolve, reject) => {
            const timer = setTimeout(
              () => reject(new Error(`${file}: no answer in ${timeoutMs} ms`)),
              timeoutMs,
            );
            waiter = {
              resolve(m) {
                clearTimeout(timer);
                resolve(m);
              },
              reject(e) {
                clearTimeout(timer);
                reject(e);
              },
            };
          });
  const expect = async (type, timeoutMs) => {
    const msg = await next(timeoutMs);
    if (msg.type !== type) throw new Error(msg.error ?? JSON.stringify(msg));
    return msg;
  };
  const child = {
    send: (msg) => proc.stdin.write(JSON.stringify(msg) + "\n"),
    expect,
    job(job, timeoutMs) {
      child.send(job);
      return expect("result", timeoutMs);
    },
    /** A server's CPU time so far, in µs. */
    async cpu() {
      child.send({ type: "cpu" });
      return (await expect("cpu", 5000)).us;
    },
    stop: () =>
      new Promise((resolve) => {
        if (proc.exitCode !== null) return resolve();
        const kill = setTimeout(() => proc.kill("SIGKILL"), 2000);
        proc.once("exit", () => {
          clearTimeout(kill);
          resolve();
        });
        proc.stdin.end();
      }),
  };
  const ready = await next(20_000);
  if (ready.type !== "ready") throw new Error(ready.error ?? JSON.stringify(ready));
  return { ...child, address: ready.address };
}

/**
 * Runs `script` (an ES module, with tsx) in a child process that prints "ready" once it has set
 * up what it tests, and asserts the process then exits by itself within 2 s: a timer or handle
 * left behind (not unref'd) would keep it running. `what` names what the script leaves open.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { within } from "../helpers.js";

export async function exitsAlone(script: string, what: string): Promise<void> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "--input-type=module", "-e", `${script}; console.log("ready");`],
    {
      stdio: ["ignore", "pipe", "ignore"],
    },
  );
  const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
  try {
    // Starting node with tsx may be slow on a busy machine; once the script has run, nothing
    // but what it left open could keep the process: it must exit at once.
    await within(
      new Promise((resolve) => child.stdout.once("data", resolve)),
      15_000,
      `the child process to set up ${what}`,
    );
    assert.equal(await within(exited, 2000, `the process to exit with only ${what} left`), 0);
  } finally {
    child.kill("SIGKILL");
  }
}

/**
 * The negative of `exitsAlone`: `script` leaves `what` open, which must keep the process
 * running for `ms` after it is set up (then the process is killed).
 */
export async function keepsAlive(script: string, what: string, ms = 1000): Promise<void> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "--input-type=module", "-e", `${script}; console.log("ready");`],
    { stdio: ["ignore", "pipe", "ignore"] },
  );
  let exited = false;
  child.on("exit", () => {
    exited = true;
  });
  try {
    await within(
      new Promise((resolve) => child.stdout.once("data", resolve)),
      15_000,
      `the child process to set up ${what}`,
    );
    await new Promise((r) => setTimeout(r, ms));
    assert.equal(exited, false, `${what} should have kept the process alive for ${ms} ms`);
  } finally {
    child.kill("SIGKILL");
  }
}

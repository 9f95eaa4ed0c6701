// One lifecycle case: a random sequence of operations against a fresh world, checked after
// every step, then torn down and checked for leftovers (world.ts).
import fc from "fast-check";
import { commandArbs, initialModel, type Model, Start } from "./commands.js";
import { type Peer, type Variant, World } from "./world.js";

type Cmd = fc.AsyncCommand<Model, World, false>;

/** Runs `inner`, then checks the world: the "after every step" of the property. */
class Checked implements Cmd {
  constructor(readonly inner: Cmd) {}
  check = (m: Readonly<Model>) => this.inner.check(m);
  async run(m: Model, w: World) {
    await this.inner.run(m, w);
    w.check();
  }
  toString = () => this.inner.toString();
}

export const MAX_COMMANDS = 20;

export function lifecycleProperty(variant: Variant = "correct", peer?: Peer) {
  return fc.asyncProperty(
    fc.commands(commandArbs, { maxCommands: MAX_COMMANDS, size: "+1" }),
    async (cmds) => {
      const world = new World(variant, peer);
      let failure: unknown;
      try {
        await fc.asyncModelRun(
          () => ({ model: initialModel(), real: world }),
          // Each lifecycle begins with one service up, so that calls have somewhere to go.
          [new Start(0, false, undefined, true), ...cmds].map((c) => new Checked(c)),
        );
      } catch (err) {
        failure = err;
      }
      try {
        await world.teardown();
      } catch (err) {
        failure ??= err;
      }
      if (failure !== undefined) throw failure;
    },
  );
}

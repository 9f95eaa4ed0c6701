/**
 * The two pieces registryFromEnv, brokerFromEnv and storeFromEnv share: a backend loaded from
 * its package on first use (lazyBackend) and the process default its users hold (processDefault).
 * The env tests check each stand-in through its interface; these pin the shared rules.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { lazyBackend } from "../src/util/driver.js";
import { processDefault } from "../src/util/process-default.js";

interface Fake {
  id: number;
}
type MakeFake = (id: number) => Fake;

/** A package loader that counts its loads and can be told to fail or to wait. */
function loader() {
  const state = { loads: 0, fail: false, gate: undefined as Promise<void> | undefined };
  const load = async (specifier: string) => {
    state.loads++;
    await state.gate;
    if (state.fail) throw new Error(`${specifier} is broken`);
    return { makeFake: ((id: number) => ({ id })) satisfies MakeFake };
  };
  return { state, load };
}

function backendWith(load: (s: string) => Promise<unknown>) {
  let made = 0;
  const backend = lazyBackend<MakeFake, Fake>(
    { chosenBy: "MICRO_FAKE=fake", specifier: "@tsmicro/fake", exportName: "makeFake", load },
    (make) => make(++made),
  );
  return backend;
}

describe("lazyBackend", () => {
  it("loads the package and makes the backend once, however many ask at the same time", async () => {
    const { state, load } = loader();
    const backend = backendWith(load);
    assert.equal(backend.current, undefined, "nothing made before the first use");
    const all = await Promise.all([backend.get(), backend.get(), backend.get()]);
    assert.equal(state.loads, 1);
    assert.deepEqual(
      all.map((b) => b.id),
      [1, 1, 1],
    );
    assert.equal((backend.current as Fake | undefined)?.id, 1, "and kept as current");
  });

  it("a failed load fails that use and is tried again by the next", async () => {
    const { state, load } = loader();
    const backend = backendWith(load);
    state.fail = true;
    await assert.rejects(
      backend.get(),
      /could not load @tsmicro\/fake for MICRO_FAKE=fake: @tsmicro\/fake is broken/,
    );
    assert.equal(backend.current, undefined);
    state.fail = false;
    assert.equal((await backend.get()).id, 1);
    assert.equal(state.loads, 2, "the second use loaded again");
  });

  it("reset ends the backend it made, and the next use makes a new one", async () => {
    const { state, load } = loader();
    const backend = backendWith(load);
    const ended: number[] = [];
    const end = async (b: Fake) => {
      ended.push(b.id);
    };
    await backend.reset(end);
    assert.equal(state.loads, 0, "a reset before any use loads nothing");
    assert.deepEqual(ended, []);
    await backend.get();
    await backend.reset(end);
    assert.deepEqual(ended, [1]);
    assert.equal(backend.current, undefined);
    assert.equal((await backend.get()).id, 2);
    assert.equal(state.loads, 2);
  });

  it("a reset while the package is loading ends the backend once it is made", async () => {
    const { state, load } = loader();
    let open!: () => void;
    state.gate = new Promise<void>((r) => {
      open = r;
    });
    const backend = backendWith(load);
    const using = backend.get();
    const ended: number[] = [];
    const resetting = backend.reset(async (b) => {
      ended.push(b.id);
    });
    open();
    await resetting;
    assert.deepEqual(ended, [1], "the backend made after the reset was ended, not left open");
    assert.equal((await using).id, 1, "the use that started before the reset still got it");
    assert.equal(
      backend.current,
      undefined,
      "an ended backend is not the current one (its name is not shown)",
    );
    assert.equal((await backend.get()).id, 2, "the next use makes a new one");
  });
});

describe("processDefault", () => {
  it("makes one backend, and ends it when its last holder lets go (each release counts once)", async () => {
    let made = 0;
    const ended: number[] = [];
    const d = processDefault(
      () => ({ id: ++made }),
      async (b) => {
        ended.push(b.id);
      },
    );
    assert.equal(d.get(), d.get(), "the same backend for every caller");
    const a = d.hold();
    const b = d.hold();
    await a();
    await a(); // a second release of the same hold does not count
    assert.deepEqual(ended, [], "one holder left: not ended");
    await b();
    assert.deepEqual(ended, [1]);
    assert.equal(d.get().id, 1, "the backend stays the default; it opens again on its next use");
    assert.equal(made, 1);
  });

  it("a release with nothing made ends nothing", async () => {
    const ended: unknown[] = [];
    const d = processDefault(
      () => ({}),
      async (b) => {
        ended.push(b);
      },
    );
    await d.hold()();
    assert.deepEqual(ended, []);
  });
});

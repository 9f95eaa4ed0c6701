/** @tsmicro/cli: the `tsmicro` command, usable as a library too (`main(argv)` resolves with the exit code). */
export { COMMANDS, main, usage } from "./main.js";

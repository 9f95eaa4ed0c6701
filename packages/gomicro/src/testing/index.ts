/** Test helpers: build and run the go-micro v4.10.2 programs under test/go (needs a Go toolchain). */
export { buildGoPrograms, type GoBuild, type GoProcess, goBinary, goSources, startGo } from "./go.js";

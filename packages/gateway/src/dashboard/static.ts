/** The dashboard's files: the page from web/, uPlot from its package; read once, served from memory. */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

export interface StaticFile {
  type: string;
  body: Buffer;
}

const web = new URL("../../web/", import.meta.url);
const require = createRequire(import.meta.url);

/** Path → file. uPlot (≈50 kB) is the page's one library: small, fast canvas charts. */
export function loadStaticFiles(): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  const add = (path: string, type: string, file: URL | string) =>
    files.set(path, { type, body: readFileSync(file) });
  add("/", "text/html; charset=utf-8", new URL("index.html", web));
  add("/app.js", "text/javascript; charset=utf-8", new URL("app.js", web));
  add("/style.css", "text/css; charset=utf-8", new URL("style.css", web));
  add("/_/uplot.js", "text/javascript; charset=utf-8", require.resolve("uplot/dist/uPlot.iife.min.js"));
  add("/_/uplot.css", "text/css; charset=utf-8", require.resolve("uplot/dist/uPlot.min.css"));
  return files;
}

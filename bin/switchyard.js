#!/usr/bin/env node
// Entry for `npx switchyard` / the package bin: runs the compiled CLI.
import { existsSync } from "node:fs";

const main = new URL("../dist/src/cli/main.js", import.meta.url);
if (!existsSync(main)) {
  process.stderr.write("switchyard is not built yet: run `npm run build` (or `npm start`) first\n");
  process.exit(1);
}
await import(main.href);

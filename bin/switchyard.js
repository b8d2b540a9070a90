#!/usr/bin/env node
// Entry for `npx switchyard` / the package bin: runs the compiled CLI (npm run build first).
import "../dist/src/cli/main.js";

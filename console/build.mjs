// Bundles the operator console (console/src) into static files under dist/console, which the
// operator listener serves under /console/ (src/server/ops/console-door.ts). Run by `npm run build`
// after tsc. Everything the page needs is in the bundle: it works with no internet.
import { mkdir, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const outdir = join(root, "dist", "console");

await rm(outdir, { recursive: true, force: true });
await mkdir(outdir, { recursive: true });
const result = await build({
  absWorkingDir: root,
  entryPoints: ["console/src/main.tsx", "console/src/console.css"],
  outdir: join(outdir, "assets"),
  // Hashed names: the door caches assets/ for a year, so a new build is a new name.
  entryNames: "[name]-[hash]",
  bundle: true,
  format: "esm",
  platform: "browser",
  target: ["chrome120", "firefox120", "safari17"],
  jsx: "automatic",
  jsxImportSource: "preact",
  minify: true,
  sourcemap: "linked",
  legalComments: "linked",
  metafile: true,
  logLevel: "warning",
});

const outputs = Object.entries(result.metafile.outputs).filter(([, output]) => output.entryPoint);
const script = outputs.map(([path]) => path).find((path) => path.endsWith(".js"));
const style = Object.keys(result.metafile.outputs).find((path) => path.endsWith(".css"));
if (!script || !style) throw new Error("esbuild wrote no script or no stylesheet");
const href = (path) => relative(outdir, join(root, path)).split("\\").join("/");

// Relative URLs, so the page works wherever the listener is mounted (a proxy's /switchyard/console/).
await writeFile(
  join(outdir, "index.html"),
  `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Switchyard console</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${href(style)}">
<script type="module" src="${href(script)}"></script>
</head>
<body>
<div id="app"><noscript>The Switchyard console needs JavaScript.</noscript></div>
</body>
</html>
`,
);
process.stdout.write(`console: ${basename(script)}, ${basename(style)} in ${relative(root, outdir)}\n`);

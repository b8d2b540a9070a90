import { execFileSync } from "node:child_process";
import { accessSync, constants, existsSync } from "node:fs";
import { delimiter, join } from "node:path";

/**
 * What the Python and Go clients need beyond node_modules, by the Debian package .ci/run installs
 * for it. Each check is a function so a suite asks only about its own tools.
 */
const CHECKS = {
  "protobuf-compiler": () => existsSync("/usr/bin/protoc"),
  "protobuf-compiler-grpc": () => onPath("grpc_python_plugin"),
  "protoc-gen-go": () => onPath("protoc-gen-go"),
  "protoc-gen-go-grpc": () => onPath("protoc-gen-go-grpc"),
  "golang-go": () => onPath("go"),
  // The grpc sources GOPATH-mode builds compile against, with the protobuf APIv2 runtime the
  // generated code needs (golang-github-golang-protobuf-1-5-dev pulls it in; the 1-3 one does not).
  "golang-google-grpc-dev": () => existsSync("/usr/share/gocode/src/google.golang.org/grpc"),
  "golang-github-golang-protobuf-1-5-dev": () =>
    existsSync("/usr/share/gocode/src/google.golang.org/protobuf"),
  "python3-grpcio python3-protobuf": () => pythonImports("grpc", "google.protobuf"),
} as const;

export type ClientTool = keyof typeof CHECKS;

/** The Debian interpreter: the `python3` first on PATH may be another one without grpcio. */
export const PYTHON = "/usr/bin/python3";

/** The packages among `tools` this machine lacks. */
export function missingTools(tools: readonly ClientTool[]): ClientTool[] {
  return tools.filter((tool) => !CHECKS[tool]());
}

/**
 * Whether a suite needing `missing` tools skips: on a developer machine without them it does
 * (reported as skipped); under CI=true it runs and fails, so a broken install cannot pass unnoticed.
 */
export function skipForMissing(missing: readonly ClientTool[]): boolean {
  return missing.length > 0 && (process.env.CI ?? "false") === "false";
}

function onPath(binary: string): boolean {
  return (process.env.PATH ?? "").split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, binary), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

function pythonImports(...modules: string[]): boolean {
  try {
    execFileSync(PYTHON, ["-c", modules.map((module) => `import ${module}`).join("; ")], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

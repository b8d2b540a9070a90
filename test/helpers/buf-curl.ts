import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";

/** node_modules/.bin/buf: the launcher of @bufbuild/buf, which runs the platform's real binary. */
const BUF = fileURLToPath(new URL("../../node_modules/.bin/buf", import.meta.url));

export interface BufCurlResult {
  /** 0, or for a failed RPC the gRPC code shifted left by three (buf curl's convention). */
  exitCode: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `buf curl ARGS` (with our Node, so the machine's own `node` does not matter) and resolves
 * with its exit code and output; never rejects for a non-zero exit.
 */
export function bufCurl(args: string[], timeoutMs = 15_000): Promise<BufCurlResult> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [BUF, "curl", ...args],
      { timeout: timeoutMs, env: { ...process.env, BUF_LOG_FORMAT: "text", NO_COLOR: "1" } },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== "number") {
          reject(error);
          return;
        }
        resolve({ exitCode: typeof error?.code === "number" ? error.code : 0, stdout, stderr });
      },
    );
  });
}

/** Splits output made of JSON documents written one after another (a stream's messages). */
export function parseJsonSequence(text: string): unknown[] {
  const documents: unknown[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const char = text[i];
    if (inString) {
      if (char === "\\") i += 1;
      else if (char === '"') inString = false;
      continue;
    }
    if (char === '"') inString = true;
    else if (char === "{" || char === "[") {
      if (depth === 0) start = i;
      depth += 1;
    } else if (char === "}" || char === "]") {
      depth -= 1;
      if (depth === 0) documents.push(JSON.parse(text.slice(start, i + 1)));
    }
  }
  return documents;
}

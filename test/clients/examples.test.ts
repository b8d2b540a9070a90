import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROJECT_NODE, PROJECT_ROOT } from "../helpers/build.js";
import { missingTools, PYTHON, skipForMissing } from "../helpers/client-tools.js";
import { startTestSwitchyard, type TestSwitchyard } from "../helpers/switchyard.js";

const run = promisify(execFile);
/** Must match go.mod's module line and buf.gen.clients.yaml's go import paths. */
const GO_MODULE = "github.com/switchyard/switchyard/clients/go";

// The examples are written against the shipped policy (what `npm start` serves), so they run on
// it, with one change: their tenant `example` has a key, so each helper must send it (apiKey).
const EXAMPLE_KEY = "example-key-7c1e4b9a20d35f68";
const KEYED = `\ntenants:\n  example: { keys: ["\${EXAMPLE_KEY}"] }\n`;
let service: TestSwitchyard;
let address: string;
beforeAll(async () => {
  const shipped = await readFile(join(PROJECT_ROOT, "config/switchyard.yaml"), "utf8");
  service = await startTestSwitchyard(`${shipped}${KEYED}`, { env: { EXAMPLE_KEY } });
  address = `127.0.0.1:${service.port}`;
});
afterAll(async () => {
  await service.stop();
});

/** What each example prints for its three calls (the attempt lines vary with the breaker, so they are not checked). */
function expectExampleOutput(stdout: string): void {
  const lines = stdout.split("\n");
  // Route: the chat route's hosted mock answers (OpenAI has no key here, its fallback always fails),
  // and the client's tenant went with a request that named none.
  expect(lines[0]).toMatch(/^hosted_mock\/mock-small \(tenant example\): This is hosted_mock\/mock-small/);
  // Stream: the deltas, then done carrying the decision.
  expect(stdout).toContain(
    'stream: This is self_hosted/llama, an offline mock. You said: "My SSN is on file."\n',
  );
  expect(stdout).toContain("  served by self_hosted/llama (route pii_sensitive)\n");
  // Refused: the status code, the server's message, and the Decision read from the error detail.
  expect(stdout).toMatch(
    /refused as expected: (PERMISSION_DENIED|PermissionDenied) refused: the request carries aws_access_key_id \(1\), which detect.secret blocks\n/,
  );
  expect(stdout).toMatch(
    /\n {2}decision: route "default", refusal "refused: the request carries aws_access_key_id \(1\), which detect.secret blocks", trace [0-9a-f]{32}\n/,
  );
}

describe("clients/ts/example.ts", () => {
  it("routes, streams and shows a refusal's decision against a running server", async () => {
    const { stdout } = await run(PROJECT_NODE, [join(PROJECT_ROOT, "dist/clients/ts/example.js")], {
      env: { ...process.env, SWITCHYARD_URL: service.baseUrl, SWITCHYARD_API_KEY: EXAMPLE_KEY },
    });
    expectExampleOutput(stdout);
  });
});

const missingForPython = missingTools(["python3-grpcio python3-protobuf"]);

describe.skipIf(skipForMissing(missingForPython))("clients/python/example.py", () => {
  it("has grpcio and protobuf for /usr/bin/python3 (.ci/run installs them)", () => {
    expect(missingForPython).toEqual([]);
  });

  it("routes, streams and shows a refusal's decision against a running server", async () => {
    const { stdout } = await run(PYTHON, [join(PROJECT_ROOT, "clients/python/example.py")], {
      // No __pycache__ left in the working tree.
      env: {
        ...process.env,
        SWITCHYARD_ADDRESS: address,
        SWITCHYARD_API_KEY: EXAMPLE_KEY,
        PYTHONDONTWRITEBYTECODE: "1",
      },
    });
    expectExampleOutput(stdout);
  });
});

const missingForGo = missingTools([
  "golang-go",
  "golang-google-grpc-dev",
  "golang-github-golang-protobuf-1-5-dev",
]);

describe.skipIf(skipForMissing(missingForGo))("clients/go/example", () => {
  let gopath: string;
  beforeAll(async () => {
    // No module proxy is reachable, so build in GOPATH mode against Debian's sources
    // (/usr/share/gocode), with this checkout linked in at its module path.
    gopath = await mkdtemp(join(tmpdir(), "switchyard-gopath-"));
    const parent = join(gopath, "src", GO_MODULE, "..");
    await mkdir(parent, { recursive: true });
    await symlink(join(PROJECT_ROOT, "clients/go"), join(gopath, "src", GO_MODULE));
  });
  afterAll(async () => {
    await rm(gopath, { recursive: true, force: true });
  });

  it("has go and Debian's grpc sources (.ci/run installs them)", () => {
    expect(missingForGo).toEqual([]);
  });

  it("is gofmt-clean", async () => {
    const { stdout } = await run("gofmt", ["-l", "switchyard", "example"], {
      cwd: join(PROJECT_ROOT, "clients/go"),
    });
    expect(stdout).toBe("");
  });

  it("compiles and routes, streams and shows a refusal's decision against a running server", async () => {
    const binary = join(gopath, "example");
    await run("go", ["build", "-o", binary, `${GO_MODULE}/example`], {
      cwd: gopath,
      env: {
        ...process.env,
        GO111MODULE: "off",
        GOPATH: `${gopath}:/usr/share/gocode`,
        GOFLAGS: "",
        // Shared across runs so only the first build compiles grpc (about 15 s).
        GOCACHE: process.env.GOCACHE ?? join(tmpdir(), "switchyard-go-build-cache"),
      },
      timeout: 170_000,
    });
    const { stdout } = await run(binary, [], {
      env: { ...process.env, SWITCHYARD_ADDRESS: address, SWITCHYARD_API_KEY: EXAMPLE_KEY },
    });
    expectExampleOutput(stdout);
  }, 180_000);
});

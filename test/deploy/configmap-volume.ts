import { mkdir, mkdtemp, readlink, rename, rm, symlink, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";

/**
 * Writes a ConfigMap volume's files into `dir` the way the kubelet's AtomicWriter does
 * (kubernetes pkg/volume/util/atomic_writer.go): the payload goes into a new timestamped
 * directory `..YYYY_MM_DD_HH_MM_SS.NNN`, a symlink `..data_tmp` to it is renamed over `..data`
 * (the atomic step), each key is a symlink `key -> ..data/key` (made once), and the previous
 * timestamped directory is removed.
 */
export async function writeConfigMapVolume(dir: string, data: Record<string, string>): Promise<void> {
  await mkdir(dir, { recursive: true });
  const previous = await readlink(join(dir, "..data")).catch(() => undefined);
  const stamp = new Date().toISOString().replace(/[-:T]/g, "_").replace(/\..*$/, "");
  const timestamped = await mkdtemp(join(dir, `..${stamp}.`));
  for (const [key, value] of Object.entries(data)) await writeFile(join(timestamped, key), value);
  await symlink(basename(timestamped), join(dir, "..data_tmp"));
  await rename(join(dir, "..data_tmp"), join(dir, "..data"));
  for (const key of Object.keys(data))
    await symlink(join("..data", key), join(dir, key)).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== "EEXIST") throw error;
    });
  if (previous !== undefined) await rm(join(dir, previous), { recursive: true, force: true });
}

import { type Browser, chromium } from "playwright-core";
import { installed } from "./installed.js";

let binary: string | null | undefined;

/**
 * Debian's chromium (`apt-get install chromium`), which playwright-core drives with nothing
 * downloaded. Under CI=true a missing one is an error (the console suites must run there;
 * .ci/run installs it); elsewhere the suites are skipped, visibly.
 */
export function chromiumPath(): string | undefined {
  if (binary === undefined) binary = installed("chromium", "chromium", ["/usr/bin/chromium"]);
  if (binary === null) console.warn("chromium is not installed: the console browser tests are skipped");
  return binary ?? undefined;
}

/** A headless chromium; close it in afterAll. */
export function launchChromium(): Promise<Browser> {
  const executablePath = chromiumPath();
  if (!executablePath) throw new Error("chromium is not installed");
  return chromium.launch({
    executablePath,
    headless: true,
    // Tests run as root in a container, where chromium's sandbox cannot start.
    args: ["--no-sandbox", "--disable-dev-shm-usage"],
  });
}

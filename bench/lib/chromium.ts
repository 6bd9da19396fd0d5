import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium } from "playwright-core";

export interface LaunchOptions {
  /**
   * Let media with sound start without a user gesture (`--autoplay-policy=no-user-gesture-required`);
   * default true. false: the default policy of a browser a viewer has, where only muted media autoplays.
   */
  autoplayWithSound?: boolean;
}

/** Debian's Chromium, launched as FACTS.md says works on these machines. */
export async function launchChromium(
  extraArgs: string[] = [],
  options: LaunchOptions = {},
): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), "wisp-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      ...(options.autoplayWithSound === false ? [] : ["--autoplay-policy=no-user-gesture-required"]),
      // Host candidates as plain addresses: no mDNS names, so nothing multicasts on the network.
      "--disable-features=WebRtcHideLocalIpsWithMdns",
      ...extraArgs,
    ],
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

// Debian's Chromium driven by playwright-core (which downloads no browser). `npm test` installs it
// (scripts/ensure-test-packages.sh); CHROMIUM_PATH points elsewhere.
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium is not at ${CHROMIUM}; npm test installs it (scripts/ensure-test-packages.sh) or set CHROMIUM_PATH.`);
  // The flags keep a headless Chromium from reaching for the network on its own (this machine has none).
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

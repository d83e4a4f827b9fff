import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { promisify } from 'node:util';
import { chromium, type Browser } from 'playwright-core';

/** Debian's chromium package; HEARTH_CHROMIUM points elsewhere. */
const CHROMIUM_PATH = process.env.HEARTH_CHROMIUM ?? '/usr/bin/chromium';

/**
 * Headless, and quiet on the network: without the background-networking flags Chromium dials
 * Google's services at start, which a closed network refuses (and QUIC is never wanted on loopback).
 */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const executable = (path: string) => access(path, constants.X_OK).then(() => true, () => false);

/**
 * The Chromium browser tests drive: {@link CHROMIUM_PATH}, installed with apt-get when it is
 * missing and this process may (root, with apt-get, as in CI containers). Otherwise `reason`
 * says what is missing, for a test to skip with.
 */
export async function findChromium(): Promise<{ path: string; reason?: undefined } | { path: undefined; reason: string }> {
  if (await executable(CHROMIUM_PATH)) return { path: CHROMIUM_PATH };
  if (process.env.HEARTH_CHROMIUM) return { path: undefined, reason: `HEARTH_CHROMIUM=${CHROMIUM_PATH} is not an executable` };
  if (process.getuid?.() !== 0 || !(await executable('/usr/bin/apt-get'))) {
    return { path: undefined, reason: `${CHROMIUM_PATH} is missing and cannot be installed here (needs root and apt-get): apt-get install chromium` };
  }
  try {
    await promisify(execFile)('sh', ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium'], {
      timeout: 600_000,
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (error) {
    return { path: undefined, reason: `${CHROMIUM_PATH} is missing and apt-get install chromium failed: ${(error as Error).message.slice(0, 500)}` };
  }
  return (await executable(CHROMIUM_PATH)) ? { path: CHROMIUM_PATH } : { path: undefined, reason: `apt-get installed chromium but ${CHROMIUM_PATH} is not there` };
}

/** Starts headless Chromium; close it with `browser.close()`. */
export function launchChromium(executablePath: string): Promise<Browser> {
  return chromium.launch({ executablePath, args: CHROMIUM_ARGS });
}

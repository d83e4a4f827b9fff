import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { access, constants, writeFile } from 'node:fs/promises';
import { connect as connectTcp } from 'node:net';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, tempDir } from '../support.js';

/** A private Mosquitto for a test file: its URL, and how to restart (a broker outage) or stop it. */
export interface TestBroker {
  url: string;
  /** Stops the broker (SIGTERM) and starts it again on the same port; without persistence, sessions are lost. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

const HOW_TO_INSTALL = 'install the Debian package mosquitto (apt-get install mosquitto) or set HEARTH_TEST_MOSQUITTO to the broker binary';

/** `mosquitto` from HEARTH_TEST_MOSQUITTO, PATH, or the sbin folders Debian puts it in (often not on a user's PATH). */
async function findMosquitto(): Promise<string> {
  const configured = process.env.HEARTH_TEST_MOSQUITTO;
  if (configured) {
    await access(configured, constants.X_OK).catch(() => {
      throw new Error(`HEARTH_TEST_MOSQUITTO=${configured} is not an executable file`);
    });
    return configured;
  }
  const folders = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), '/usr/sbin', '/usr/local/sbin'];
  for (const folder of folders) {
    const candidate = join(folder, 'mosquitto');
    if (await access(candidate, constants.X_OK).then(() => true, () => false)) return candidate;
  }
  throw new Error(`the MQTT tests need a real Mosquitto broker and found no mosquitto on PATH, /usr/sbin or /usr/local/sbin: ${HOW_TO_INSTALL}`);
}

const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connectTcp(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

/**
 * Starts `mosquitto -c <temp config>` on a free loopback port (no persistence; `anonymous: false`
 * with no password file refuses every client) and
 * waits until it accepts connections. Never a mock and never a skip: without Mosquitto the test
 * fails, saying how to install it.
 */
export async function startBroker({ anonymous = true }: { anonymous?: boolean } = {}): Promise<TestBroker> {
  const binary = await findMosquitto();
  const port = await freePort();
  const { dir, cleanup } = await tempDir();
  const configFile = join(dir, 'mosquitto.conf');
  await writeFile(configFile, [`listener ${port} 127.0.0.1`, `allow_anonymous ${anonymous}`, 'persistence false', 'log_dest stderr', 'log_type error', ''].join('\n'));

  let child: ChildProcess | undefined;
  const launch = async () => {
    const started = spawn(binary, ['-c', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    started.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = once(started, 'exit').then(([code]) => code as number | null);
    const failed = once(started, 'error').then(([error]) => error as Error);
    for (let i = 0; i < 200; i++) {
      const outcome = await Promise.race([failed, exited.then((code) => `exited with ${code}`), sleep(25, 'wait')]);
      if (outcome instanceof Error) throw new Error(`${binary} could not be started (${outcome.message}): ${HOW_TO_INSTALL}`);
      if (outcome !== 'wait') throw new Error(`${binary} ${outcome} on port ${port}: ${stderr.trim()}`);
      if (await accepts(port)) {
        child = started;
        return;
      }
    }
    started.kill('SIGKILL');
    throw new Error(`${binary} started on port ${port} but did not accept connections within 5 s: ${stderr.trim()}`);
  };
  const halt = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    const exited = once(running, 'exit');
    running.kill('SIGTERM');
    await exited;
  };

  await launch();
  return {
    url: `mqtt://127.0.0.1:${port}`,
    async restart() {
      await halt();
      await launch();
    },
    async stop() {
      await halt();
      await cleanup();
    },
  };
}

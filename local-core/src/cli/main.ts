import { SenderKeySchema, publicKeySet, type AccessCommand } from '@hearth/shared';
import { Command, InvalidArgumentError } from 'commander';
import { loadCoreConfig } from '../config.js';
import { startCore } from '../core.js';
import { writeNewKeySet } from '../keys/key-store.js';
import { createLogger, logKeyFor } from '../logger.js';
import { VERSION } from '../version.js';
import { fetchDeadLetters, formatDeadLetters } from './dead-letters.js';
import { loadEnvFile } from './env-file.js';
import { formatPairResult, pairCommand } from './pair.js';
import { assertReachable, formatStatus, gatherStatus } from './status.js';
import { runCommand, runUntilSignal } from './run.js';

const port = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65_535) throw new InvalidArgumentError('a port is a whole number from 1 to 65535');
  return n;
};
const defaultPort = () => process.env.HEARTH_EDGE_PORT ?? '8787';

const program = new Command('hearth')
  .description('Hearth: your assistant at home, reachable through a serverless edge.')
  .version(VERSION)
  // Settings come from the environment; a .env in the working folder fills what it leaves unset.
  .hook('preAction', async () => loadEnvFile('.env'));

program
  .command('keygen')
  .description("create the core's key pair and print the public JWK Set to give the edge (HEARTH_CORE_JWKS)")
  .option('--key-file <path>', 'where to write the private key set (HEARTH_KEY_FILE)')
  .option('--force', 'replace an existing key (the edge must then get the new public key)', false)
  .action((options: { keyFile?: string; force: boolean }) =>
    runCommand(async () => {
      const keyFile = options.keyFile ?? loadCoreConfig(process.env).keyFile;
      const keySet = await writeNewKeySet(keyFile, options.force);
      process.stderr.write(
        `wrote the private key set to ${keyFile} (keep it secret). Give the edge this public key set:\n` +
          `  locally: HEARTH_CORE_JWKS=<it> in edge-worker/.dev.vars; deployed: wrangler secret put HEARTH_CORE_JWKS\n`,
      );
      process.stdout.write(`${JSON.stringify(publicKeySet(keySet))}\n`);
    }),
  );

program
  .command('start')
  .description('run the core: load the model, dial the edge (HEARTH_EDGE_URL), answer messages')
  .option('--model <path-or-uri>', 'the GGUF to run: a path, or hf:user/repo:quant / an https URL to download (HEARTH_MODEL)')
  .action((options: { model?: string }) =>
    runCommand(async () => {
      const config = loadCoreConfig({ ...process.env, ...(options.model ? { HEARTH_MODEL: options.model } : {}) });
      const log = createLogger(config.logLevel, undefined, undefined, logKeyFor(config));
      await runUntilSignal(log, async (parts) => void parts.use('core', await startCore(config, log)));
    }),
  );

program
  .command('models')
  .description('GGUF chat models')
  .command('pull [uri]')
  .description('download a model (hf:user/repo:Q4_K_M, hf:user/repo/file.gguf or an https URL; none: the default chat model, HEARTH_DEFAULT_MODEL) into the models folder, with a progress bar; an interrupted pull resumes')
  .option('--dir <folder>', 'where to put it (the first of HEARTH_MODELS_DIR)')
  .option('--json', 'print JSON for programs', false)
  .action((uri: string | undefined, options: { dir?: string; json: boolean }) =>
    runCommand(async () => {
      const config = loadCoreConfig(process.env);
      const directory = options.dir ?? config.modelsDirs[0] ?? 'models';
      const { pullModel } = await import('../inference/model-pull.js');
      const path = await pullModel(uri ?? config.defaultModel, directory, { progress: process.stderr.isTTY && !options.json });
      process.stdout.write(options.json ? `${JSON.stringify({ path })}\n` : `${path}\nrun it: HEARTH_MODEL=${path} npm run start:core\n`);
    }),
  );

program
  .command('status')
  .description("the edge's queue and connected cores (over the tunnel), and this machine's core (its admin port)")
  .option('--json', 'print JSON for programs', false)
  .action((options: { json: boolean }) =>
    runCommand(async () => {
      const report = await gatherStatus(loadCoreConfig(process.env));
      process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : formatStatus(report));
      assertReachable(report);
    }),
  );

program
  .command('dead-letters')
  .description('list the messages the edge gave up on (too many attempts, expired), opened with this core key')
  .option('--limit <n>', 'how many, newest first', (v) => Number.parseInt(v, 10), 50)
  .option('--json', 'print JSON for programs', false)
  .action((options: { limit: number; json: boolean }) =>
    runCommand(async () => {
      const letters = await fetchDeadLetters(loadCoreConfig(process.env), options.limit);
      process.stdout.write(options.json ? `${JSON.stringify(letters, null, 2)}\n` : formatDeadLetters(letters));
    }),
  );

const pair = program
  .command('pair')
  .description('who may talk to the assistant: approve pairing codes, revoke senders, list both (HEARTH_ACCESS_POLICY=pairing)');
const runPair = (command: AccessCommand, options: { json: boolean }) =>
  runCommand(async () => {
    const result = await pairCommand(loadCoreConfig(process.env), command);
    const { v: _v, type: _type, request_id: _id, ...body } = result;
    process.stdout.write(options.json ? `${JSON.stringify(body, null, 2)}\n` : formatPairResult(result));
  });
pair
  .command('approve <code>')
  .description('let in the sender who was given CODE; their waiting message is then answered')
  .option('--json', 'print JSON for programs', false)
  .action((code: string, options: { json: boolean }) => runPair({ action: 'approve', code }, options));
pair
  .command('revoke <sender>')
  .description('shut out a sender approved by pairing (platform:id, e.g. telegram:42)')
  .option('--json', 'print JSON for programs', false)
  .action((sender: string, options: { json: boolean }) => {
    const parsed = SenderKeySchema.safeParse(sender);
    if (!parsed.success) program.error(`hearth: ${parsed.error.issues[0]?.message ?? 'not a sender'}`);
    return runPair({ action: 'revoke', sender }, options);
  });
pair
  .command('list')
  .description('codes waiting for approval, senders approved by pairing, and codes turned away (refused or evicted)')
  .option('--json', 'print JSON for programs', false)
  .action((options: { json: boolean }) => runPair({ action: 'list' }, options));

// The long-running `hearth start` loads none of the other commands' modules (MCP's SDK, the
// plugin tooling, ...): they would stay resident for the life of the core.
if (process.argv[2] !== 'start') await registerCommandFamilies();

async function registerCommandFamilies(): Promise<void> {
  // `hearth notes ...` (long-term recall); onnxruntime is loaded only when a notes command runs.
  (await import('./notes.js')).registerNotesCommand(program);

  // `hearth memory ...` (the facts kept about each sender, and MEMORY.md).
  (await import('./memory.js')).registerMemoryCommand(program);

  // `hearth plugins ...` (list, enable, disable, new).
  (await import('./plugins.js')).registerPluginsCommand(program);

  // `hearth mcp ...` (add, list, remove, test MCP servers).
  (await import('./mcp.js')).registerMcpCommand(program);

  // `hearth token ...` (client tokens for phones, browsers and OpenAI clients).
  (await import('./token.js')).registerTokenCommand(program);

  // `hearth experiments ...`, `hearth feedback list`, `hearth dataset export` (learning from feedback).
  (await import('./experiments.js')).registerExperimentsCommands(program);
  (await import('./dataset.js')).registerDatasetCommand(program);

  // `hearth discord register` (the slash commands of the Discord application).
  (await import('./discord.js')).registerDiscordCommand(program);

  // `hearth init` (first set-up) and `hearth doctor` (what is wrong, and how to fix it).
  (await import('./init.js')).registerInitCommand(program);
  (await import('./doctor.js')).registerDoctorCommand(program);
  (await import('./security.js')).registerSecurityCommand(program);
}

program
  .command('edge')
  .description('run the edge alone under workerd (wrangler dev) on this machine')
  .option('--port <port>', 'port on 127.0.0.1 (HEARTH_EDGE_PORT)', port, port(defaultPort()))
  .action((options: { port: number }) => runCommand(async () => (await import('./edge.js')).runEdge(options.port)));

program
  .command('dev')
  .description('run the whole system locally: the edge under workerd and the core connected to it')
  .option('--port <port>', 'edge port on 127.0.0.1 (HEARTH_EDGE_PORT)', port, port(defaultPort()))
  .action((options: { port: number }) => runCommand(async () => (await import('./dev.js')).runDev(options.port)));

await program.parseAsync();

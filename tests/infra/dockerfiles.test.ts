import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { NODE_ENGINES, nodeVersionProblem } from '@hearth/core';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ROOT,
  contextSources,
  dockerignored,
  instructionsOf,
  loadDockerfile,
  parseDockerfile,
  read,
  stage,
  type Dockerfile,
} from './support.js';

const rootPackage = JSON.parse(read(join(ROOT, 'package.json'))) as { packageManager: string; engines: { node: string } };

const files: [name: string, dockerfile: Dockerfile][] = [
  ['Dockerfile', loadDockerfile('Dockerfile')],
  ['Dockerfile.cuda', loadDockerfile('Dockerfile.cuda')],
];

/** Every file under `dir`, relative to the repository root. */
function filesUnder(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .map((p) => join(dir, p))
    .filter((p) => statSync(join(ROOT, p)).isFile());
}

describe.each(files)('infra/%s', (name, dockerfile) => {
  const runtime = stage(dockerfile, 'runtime');
  const final = dockerfile.stages.at(-1);

  it('is multi-stage: dependencies and the TypeScript build happen in stages the image leaves behind', () => {
    expect(dockerfile.stages.length).toBeGreaterThanOrEqual(3);
    expect(final).toBe(runtime);
    expect(stage(dockerfile, 'deps')).toBeDefined();
    expect(stage(dockerfile, 'build')).toBeDefined();
    const copiedFrom = instructionsOf(runtime, 'COPY')
      .map((c) => /--from=(\S+)/.exec(c.args)?.[1])
      .filter(Boolean);
    expect(new Set(copiedFrom)).toEqual(new Set(name === 'Dockerfile' ? ['deps', 'build'] : ['deps', 'build', 'node']));
  });

  it('pins every base image to a full version (ARG defaults count)', () => {
    const stageNames = new Set(dockerfile.stages.map((s) => s.name));
    for (const s of dockerfile.stages) {
      if (stageNames.has(s.base)) continue;
      expect(s.base, `FROM of stage ${s.name}`).toMatch(/^[a-z0-9./-]+:\d+\.\d+\.\d+(-[a-z0-9.-]+)?(@sha256:[a-f0-9]{64})?$/);
    }
  });

  it('runs the Node the repository asks for (engines), and its npm (packageManager)', () => {
    const node = /^node:(\d+\.\d+\.\d+)-/.exec(dockerfile.globalArgs.get('NODE_IMAGE') ?? '');
    expect(node).not.toBeNull();
    // engines and the core's own floor (hearth doctor) are one range; the image's Node is inside it.
    expect(rootPackage.engines.node).toBe(NODE_ENGINES);
    expect(nodeVersionProblem(node?.[1] ?? '')).toBeUndefined();
    expect(`npm@${dockerfile.globalArgs.get('NPM_VERSION')}`).toBe(rootPackage.packageManager);
  });

  it('installs with npm ci: production dependencies of the core and shared only, dev tools only to compile', () => {
    const deps = instructionsOf(stage(dockerfile, 'deps'), 'RUN').map((r) => r.args);
    expect(deps.some((r) => /npm ci --omit=dev --workspace=@hearth\/core --workspace=@hearth\/shared\b/.test(r))).toBe(true);
    // better-sqlite3 builds from source when no prebuilt binary can be fetched.
    expect(deps.some((r) => /apt-get install .*python3 make g\+\+/.test(r))).toBe(true);
    const build = instructionsOf(stage(dockerfile, 'build'), 'RUN').map((r) => r.args);
    expect(build.some((r) => /npm ci --ignore-scripts --workspace=@hearth\/core --workspace=@hearth\/shared --include-workspace-root\b/.test(r))).toBe(
      true,
    );
    expect(build.some((r) => /npx tsc -b local-core/.test(r))).toBe(true);
    // `npm install` only ever brings npm itself, never the project's dependencies.
    for (const s of dockerfile.stages) {
      for (const run of instructionsOf(s, 'RUN')) {
        for (const match of run.args.matchAll(/npm install\b[^&;]*/g)) expect(match[0]).toMatch(/^npm install --global .*"npm@\$\{NPM_VERSION\}"/);
      }
    }
  });

  it('ships only what the core needs: no edge worker, no tests, no TypeScript sources, no wrangler', () => {
    const copies = instructionsOf(runtime, 'COPY').map((c) => c.args);
    expect(copies.join('\n')).not.toMatch(/edge-worker|tests\/|wrangler|workerd|(shared|local-core)\/src\b/);
    for (const s of dockerfile.stages) {
      // The edge's and the tests' manifests only: npm ci checks the lockfile against them.
      for (const copy of instructionsOf(s, 'COPY')) {
        for (const source of contextSources(copy)) expect(source, `stage ${s.name}`).toMatch(/^(?!edge-worker|tests)|^(edge-worker|tests)\/package\.json$/);
      }
    }
    expect(copies).toContain('--from=deps /src/node_modules node_modules');
    expect(copies).toContain('--from=build /src/local-core/dist local-core/dist');
    expect(copies).toContain('--from=build /src/shared/dist shared/dist');
  });

  it('runs as a user that is not root, with /data its only writable folder', () => {
    const users = instructionsOf(runtime, 'USER').map((u) => u.args.split(':')[0]);
    expect(users.length).toBeGreaterThan(0);
    expect(['root', '0', '']).not.toContain(users.at(-1));
    expect(instructionsOf(runtime, 'RUN').some((r) => /chown hearth:hearth \/data/.test(r.args))).toBe(true);
    const env = instructionsOf(runtime, 'ENV').map((e) => e.args).join(' ');
    expect(env).toContain('HEARTH_DATA_DIR=/data');
    expect(env).toContain('HEARTH_MODELS_DIR=/models');
    expect(env).toContain('HEARTH_KEY_FILE=/run/secrets/core_key');
    expect(env).toContain('HEARTH_ADMIN_HOST=0.0.0.0');
  });

  it('health-checks /healthz on the admin port with node (no curl in the image), and starts the core', () => {
    const [health] = instructionsOf(runtime, 'HEALTHCHECK');
    expect(health?.args).toMatch(/--start-period=\d+s/);
    const command = /CMD (\[.*\])$/.exec(health?.args ?? '')?.[1];
    const argv = JSON.parse(command ?? 'null') as string[];
    expect(argv.slice(0, 2)).toEqual(['node', '-e']);
    expect(argv[2]).toContain("fetch('http://127.0.0.1:'+(process.env.HEARTH_ADMIN_PORT||9464)+'/healthz')");
    expect(instructionsOf(runtime, 'ENTRYPOINT').map((e) => e.args)).toEqual(['["node", "/app/local-core/bin/hearth.js"]']);
    expect(instructionsOf(runtime, 'CMD').map((e) => e.args)).toEqual(['["start"]']);
  });

  it('copies from the build context only files that exist and that .dockerignore lets in', () => {
    for (const s of dockerfile.stages) {
      for (const copy of instructionsOf(s, 'COPY')) {
        for (const source of contextSources(copy)) {
          expect(existsSync(join(ROOT, source)), source).toBe(true);
          const paths = statSync(join(ROOT, source)).isDirectory() ? filesUnder(source) : [source];
          const shipped = paths.filter((p) => !dockerignored(p));
          expect(shipped.length, `${source}: everything is ignored`).toBeGreaterThan(0);
          for (const path of shipped) expect(path).not.toMatch(/\.test\.ts$|node_modules|\.tsbuildinfo$/);
        }
      }
    }
  });
});

describe('infra/Dockerfile.cuda', () => {
  const cuda = files[1]?.[1] as Dockerfile;

  it('runs on the NVIDIA CUDA runtime image, with the Node binary of the CPU image', () => {
    expect(cuda.globalArgs.get('CUDA_IMAGE')).toMatch(/^nvidia\/cuda:12\.\d+\.\d+-runtime-ubuntu24\.04$/);
    expect(cuda.globalArgs.get('NODE_IMAGE')).toBe(files[0]?.[1].globalArgs.get('NODE_IMAGE'));
    expect(instructionsOf(stage(cuda, 'runtime'), 'COPY').map((c) => c.args)).toContain('--from=node /usr/local/bin/node /usr/local/bin/node');
  });
});

describe('.dockerignore', () => {
  it('keeps secrets, local state, models and build output out of every image', () => {
    for (const path of [
      'node_modules/zod/package.json',
      'local-core/node_modules/x/index.js',
      'local-core/dist/index.js',
      'shared/tsconfig.tsbuildinfo',
      '.env',
      'infra/.env',
      'edge-worker/.dev.vars',
      '.hearth/core-key.json',
      'infra/secrets/core-key.json',
      'infra/certs/privkey.pem',
      'models/qwen.gguf',
      'infra/models/qwen.gguf',
      'shared/models/stories260K.gguf',
      '.git/HEAD',
      'edge-worker/src/index.ts',
      'tests/e2e/cli.test.ts',
      'local-core/test/pipeline.test.ts',
      'local-core/src/pipeline.test.ts',
    ]) {
      expect(dockerignored(path), path).toBe(true);
    }
  });

  it('lets in what the images build from', () => {
    for (const path of [
      'package.json',
      'package-lock.json',
      '.npmrc',
      'tsconfig.json',
      'edge-worker/package.json',
      'tests/package.json',
      'shared/src/index.ts',
      'local-core/src/core.ts',
      'local-core/bin/hearth.js',
      'infra/.env.example',
    ]) {
      expect(dockerignored(path), path).toBe(false);
    }
  });

  it('follows the builder: the last matching pattern wins and a folder pattern covers what is inside', () => {
    const rules = 'a/*\n!a/keep.txt\n**/deep\nb\n';
    expect(dockerignored('a/drop.txt', rules)).toBe(true);
    expect(dockerignored('a/keep.txt', rules)).toBe(false);
    expect(dockerignored('x/y/deep/z.txt', rules)).toBe(true);
    expect(dockerignored('b/c/d.txt', rules)).toBe(true);
    expect(dockerignored('bb/c.txt', rules)).toBe(false);
  });
});

describe('the native-package pruning in the deps stages', () => {
  const work = mkdtempSync(join(tmpdir(), 'hearth-infra-prune-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  const LLAMA = ['linux-arm64', 'linux-armv7l', 'linux-x64', 'linux-x64-cuda', 'linux-x64-cuda-ext', 'linux-x64-vulkan'];
  const ORT = ['darwin/arm64', 'linux/arm64', 'linux/x64', 'win32/arm64', 'win32/x64'];

  /** Runs the deps stage's pruning RUN with /bin/sh on a node_modules laid out as npm ci leaves it. */
  function prune(dockerfile: Dockerfile, env: Record<string, string>, llama = LLAMA): { llama: string[]; ort: string[] } {
    const dir = mkdtempSync(join(work, 'case-'));
    for (const p of llama) mkdirSync(join(dir, 'node_modules/@node-llama-cpp', p, 'bins'), { recursive: true });
    for (const p of ORT) mkdirSync(join(dir, 'node_modules/onnxruntime-node/bin/napi-v6', p), { recursive: true });
    const script = instructionsOf(stage(dockerfile, 'deps'), 'RUN').find((r) => r.args.includes('node_modules/@node-llama-cpp'));
    if (!script) throw new Error('no pruning RUN in the deps stage');
    execFileSync('/bin/sh', ['-c', script.args], { cwd: dir, env: { PATH: process.env.PATH, ...env }, stdio: 'pipe' });
    const list = (p: string, depth: number): string[] =>
      readdirSync(join(dir, p), { recursive: true, encoding: 'utf8' }).filter((e) => e.split('/').length === depth).sort();
    return { llama: list('node_modules/@node-llama-cpp', 1), ort: list('node_modules/onnxruntime-node/bin', 3).map((p) => relative('napi-v6', p)) };
  }

  it('CPU image: keeps only the architecture built for', () => {
    const cpu = files[0]?.[1] as Dockerfile;
    expect(prune(cpu, { TARGETARCH: 'amd64' })).toEqual({ llama: ['linux-x64'], ort: ['linux/x64'] });
    expect(prune(cpu, { TARGETARCH: 'arm64' })).toEqual({ llama: ['linux-arm64'], ort: ['linux/arm64'] });
    // The classic builder sets no TARGETARCH: amd64.
    expect(prune(cpu, {})).toEqual({ llama: ['linux-x64'], ort: ['linux/x64'] });
    expect(() => prune(cpu, { TARGETARCH: 's390x' })).toThrow(/unsupported architecture s390x/);
    // npm ci did not bring the build it needs: the image build stops rather than ship without it.
    expect(() => prune(cpu, { TARGETARCH: 'amd64' }, ['linux-arm64'])).toThrow();
  });

  it('CUDA image: keeps the CUDA build, its CUDA 12 fallback and the CPU build', () => {
    const cuda = files[1]?.[1] as Dockerfile;
    expect(prune(cuda, {})).toEqual({ llama: ['linux-x64', 'linux-x64-cuda', 'linux-x64-cuda-ext'], ort: ['linux/x64'] });
    expect(() => prune(cuda, {}, ['linux-x64', 'linux-x64-cuda'])).toThrow();
  });
});

describe('parseDockerfile', () => {
  it('joins continuations, drops comments inside them, and substitutes global ARG defaults in FROM', () => {
    const parsed = parseDockerfile(`# syntax=docker/dockerfile:1\nARG IMG=node:20.1.2-slim\nFROM \${IMG} AS one\nRUN a \\\n# note\n  && b\nFROM one\nUSER x\n`);
    expect(parsed.stages.map((s) => [s.base, s.name])).toEqual([
      ['node:20.1.2-slim', 'one'],
      ['one', undefined],
    ]);
    expect(parsed.stages[0]?.instructions).toEqual([{ keyword: 'RUN', args: 'a && b', line: 4 }]);
  });
});

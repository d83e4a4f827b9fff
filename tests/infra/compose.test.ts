import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { EDGE_SECRETS } from '@hearth/shared';
import { describe, expect, it } from 'vitest';
import {
  INFRA,
  ROOT,
  composeVariables,
  dockerignored,
  environmentOf,
  interpolate,
  interpolateAll,
  isObject,
  loadComposeRaw,
  mountsOf,
  read,
  seconds,
  type JsonObject,
} from './support.js';

// What a user must set; everything else has a default.
const USER_ENV = { HEARTH_EDGE_URL: 'https://hearth-edge.example.workers.dev' };

const raw = loadComposeRaw();
const compose = interpolateAll(raw, USER_ENV) as JsonObject;
const services = compose.services as Record<string, JsonObject>;
const service = (name: string): JsonObject => {
  const found = services[name];
  if (!found) throw new Error(`no service ${name} in docker-compose.yml`);
  return found;
};
const profilesOf = (s: JsonObject) => (Array.isArray(s.profiles) ? s.profiles.map(String) : []);
const dockerfileOf = (s: JsonObject) => (isObject(s.build) ? String(s.build.dockerfile ?? 'Dockerfile') : undefined);
/** Every service that runs the core: those built from infra/Dockerfile*. */
const coreNames = Object.keys(services).filter((name) => dockerfileOf(service(name))?.startsWith('infra/Dockerfile'));

describe('docker-compose.yml: services and profiles', () => {
  it('runs the CPU core and Redis by default, the GPU core under gpu, two more cores under replicas, nginx under lan', () => {
    expect(Object.keys(services).sort()).toEqual(['core', 'core-2', 'core-3', 'core-gpu', 'nginx', 'redis']);
    expect(profilesOf(service('core'))).toEqual([]);
    expect(profilesOf(service('redis'))).toEqual([]);
    expect(profilesOf(service('core-gpu'))).toEqual(['gpu']);
    expect(profilesOf(service('core-2'))).toEqual(['replicas']);
    expect(profilesOf(service('core-3'))).toEqual(['replicas']);
    expect(profilesOf(service('nginx'))).toEqual(['lan']);
    expect(coreNames.sort()).toEqual(['core', 'core-2', 'core-3', 'core-gpu']);
  });

  it('builds the cores from the repository root with the CPU Dockerfile, and the GPU core with the CUDA one', () => {
    for (const name of coreNames) {
      const build = service(name).build as JsonObject;
      expect(build.context, name).toBe('..');
      expect(existsSync(join(INFRA, String(build.context), String(build.dockerfile))), name).toBe(true);
      expect(build.dockerfile, name).toBe(name === 'core-gpu' ? 'infra/Dockerfile.cuda' : 'infra/Dockerfile');
    }
    expect(service('core-gpu').image).toBe('hearth-core:cuda');
    expect(service('core').image).toBe('hearth-core:cpu');
  });

  it('reserves one NVIDIA GPU for the GPU core, in exactly the seed shape, and for no other service', () => {
    expect(service('core-gpu').deploy).toEqual({
      resources: { reservations: { devices: [{ driver: 'nvidia', count: 1, capabilities: ['gpu'] }] } },
    });
    for (const name of Object.keys(services).filter((n) => n !== 'core-gpu')) {
      expect(JSON.stringify(service(name).deploy ?? {}), name).not.toContain('nvidia');
    }
  });

  it('pins every image it pulls to a full version', () => {
    for (const name of ['redis', 'nginx']) {
      expect(String(service(name).image), name).toMatch(/^[a-z0-9./-]+:\d+\.\d+\.\d+(-[a-z0-9.]+)?$/);
    }
    expect(service('redis').image).toMatch(/^redis:7\./);
  });
});

describe('docker-compose.yml: every core', () => {
  it('mounts the models folder (./models by default) read-only at /models and reads models there', () => {
    for (const name of coreNames) {
      const models = mountsOf(service(name)).filter((m) => m.target === '/models');
      expect(models, name).toEqual([{ type: 'bind', source: './models', target: '/models', readOnly: true }]);
      expect(environmentOf(service(name)).HEARTH_MODELS_DIR, name).toBe('/models');
    }
  });

  it('has its own data volume at /data (HEARTH_DATA_DIR), shared with no other core', () => {
    const volumes = coreNames.map((name) => {
      const data = mountsOf(service(name)).filter((m) => m.target === '/data');
      expect(data, name).toHaveLength(1);
      expect(data[0]?.type, name).toBe('volume');
      expect(data[0]?.readOnly, name).toBe(false);
      expect(environmentOf(service(name)).HEARTH_DATA_DIR, name).toBe('/data');
      expect(Object.keys(compose.volumes as JsonObject), name).toContain(data[0]?.source);
      return data[0]?.source;
    });
    expect(new Set(volumes).size).toBe(coreNames.length);
  });

  it('has a distinct HEARTH_CORE_ID, with the defaults and when the first ids are set in .env', () => {
    for (const env of [USER_ENV, { ...USER_ENV, HEARTH_CORE_ID: 'kitchen', HEARTH_CORE_ID_GPU: 'attic' }]) {
      const resolved = (interpolateAll(raw, env) as JsonObject).services as Record<string, JsonObject>;
      const ids = coreNames.map((name) => environmentOf(resolved[name] as JsonObject).HEARTH_CORE_ID ?? '');
      for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9._-]{1,128}$/);
      expect(new Set(ids).size).toBe(coreNames.length);
    }
  });

  it('shares Redis: REDIS_URL is the redis service, on the internal network, started once Redis is healthy', () => {
    for (const name of coreNames) {
      const core = service(name);
      expect(environmentOf(core).REDIS_URL, name).toBe('redis://redis:6379');
      expect(core.depends_on, name).toEqual({ redis: { condition: 'service_healthy' } });
      expect(Object.keys(core.networks as JsonObject).sort(), name).toEqual(['backend', 'default']);
    }
    expect(service('redis').networks).toEqual(['backend']);
    expect((compose.networks as JsonObject).backend).toEqual({ internal: true });
  });

  it('requires HEARTH_EDGE_URL, and says where to set it', () => {
    expect(() => interpolateAll(raw, {})).toThrow(/HEARTH_EDGE_URL: set HEARTH_EDGE_URL in infra\/\.env/);
    for (const name of coreNames) expect(environmentOf(service(name)).HEARTH_EDGE_URL).toBe(USER_ENV.HEARTH_EDGE_URL);
  });

  it('reads its key from the core_key compose secret, a file that is not in the repository', () => {
    const secrets = compose.secrets as Record<string, JsonObject>;
    expect(secrets.core_key).toEqual({ file: './secrets/core-key.json' });
    for (const name of coreNames) {
      expect(service(name).secrets, name).toEqual(['core_key']);
      expect(environmentOf(service(name)).HEARTH_KEY_FILE, name).toBe('/run/secrets/core_key');
    }
  });

  it('opens the admin port to the compose network under the alias nginx proxies to, and health-checks /healthz there', () => {
    const nginx = read(join(INFRA, 'nginx', 'nginx.conf'));
    const target = /set \$hearth_core ([\w.-]+):(\d+);/.exec(nginx);
    expect(target).not.toBeNull();
    for (const name of coreNames) {
      const core = service(name);
      const env = environmentOf(core);
      expect(env.HEARTH_ADMIN_HOST, name).toBe('0.0.0.0');
      expect(env.HEARTH_ADMIN_PORT, name).toBe(target?.[2]);
      expect(((core.networks as JsonObject).default as JsonObject).aliases, name).toEqual([target?.[1]]);
      const test = (core.healthcheck as JsonObject).test as string[];
      expect(test.slice(0, 3), name).toEqual(['CMD', 'node', '-e']);
      expect(test[3], name).toContain(`http://127.0.0.1:${env.HEARTH_ADMIN_PORT}/healthz`);
    }
  });

  it('gives running replies time to finish on stop (more than HEARTH_SHUTDOWN_TIMEOUT_MS, 30 s)', () => {
    for (const name of coreNames) {
      expect(seconds(String(service(name).stop_grace_period)), name).toBeGreaterThan(30);
      expect(service(name).init, name).toBe(true);
      expect(service(name).cap_drop, name).toEqual(['ALL']);
    }
  });
});

describe('docker-compose.yml: Redis', () => {
  it('persists to an append-only file on a named volume, evicts nothing (BullMQ), and publishes no port', () => {
    const redis = service('redis');
    const command = (redis.command as string[]).join(' ');
    expect(command).toMatch(/^redis-server /);
    expect(command).toContain('--appendonly yes');
    expect(command).toContain('--maxmemory-policy noeviction');
    const data = mountsOf(redis).filter((m) => m.target === '/data');
    expect(data).toEqual([{ type: 'volume', source: 'redis-data', target: '/data', readOnly: false }]);
    expect(Object.keys(compose.volumes as JsonObject)).toContain('redis-data');
    expect(redis.ports).toBeUndefined();
    expect(((redis.healthcheck as JsonObject).test as string[]).join(' ')).toContain('redis-cli ping');
  });
});

describe('docker-compose.yml: nginx (profile lan)', () => {
  it('mounts its config and certificate read-only and takes the key as a secret', () => {
    const nginx = service('nginx');
    expect(mountsOf(nginx)).toEqual([
      { type: 'bind', source: './nginx/nginx.conf', target: '/etc/nginx/nginx.conf', readOnly: true },
      { type: 'bind', source: './certs/fullchain.pem', target: '/etc/nginx/certs/fullchain.pem', readOnly: true },
    ]);
    expect(existsSync(join(INFRA, 'nginx', 'nginx.conf'))).toBe(true);
    expect(nginx.secrets).toEqual([{ source: 'lan_tls_key', target: '/etc/nginx/certs/privkey.pem' }]);
    expect((compose.secrets as JsonObject).lan_tls_key).toEqual({ file: './certs/privkey.pem' });
    expect(nginx.ports).toEqual(['0.0.0.0:443:443']);
    // nginx resolves the cores when asked (any profile's set may be running): it waits for none.
    expect(nginx.depends_on).toBeUndefined();
  });

  it('health-checks the loopback-only server nginx.conf opens for it', () => {
    const test = (service('nginx').healthcheck as JsonObject).test as string[];
    const url = test.find((w) => w.startsWith('http://')) ?? '';
    const { hostname, port, pathname } = new URL(url);
    const conf = read(join(INFRA, 'nginx', 'nginx.conf'));
    expect(conf).toContain(`listen ${hostname}:${port};`);
    expect(conf).toContain(`location = ${pathname} {`);
  });
});

describe('docker-compose.yml: every long-running service', () => {
  it('restarts unless stopped and has a health check with an interval, a timeout and retries', () => {
    for (const [name, s] of Object.entries(services)) {
      expect(s.restart, name).toBe('unless-stopped');
      const health = s.healthcheck as JsonObject;
      expect(health, name).toBeDefined();
      expect(health.disable, name).toBeUndefined();
      expect(Array.isArray(health.test) && ['CMD', 'CMD-SHELL'].includes(String(health.test[0])), name).toBe(true);
      for (const key of ['interval', 'timeout', 'start_period']) expect(seconds(String(health[key])), `${name} ${key}`).toBeGreaterThan(0);
      expect(health.retries, name).toBeGreaterThanOrEqual(3);
    }
  });

  it('inlines no secret: secret-looking variables are files under /run/secrets, and no token or key is written out', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const [key, value] of Object.entries(environmentOf(s))) {
        if (/SECRET|TOKEN|PASSWORD|PASSWD|CREDENTIAL|JWKS|_KEY/i.test(key)) {
          expect(value, `${name} ${key}`).toMatch(/^\/run\/secrets\/[a-z_]+$/);
        }
      }
    }
    const text = read(join(INFRA, 'docker-compose.yml'));
    // The edge's secrets belong to wrangler, never to this file.
    for (const secret of EDGE_SECRETS) expect(text).not.toContain(secret);
    expect(text).not.toMatch(/PRIVATE KEY|"d"\s*:|\b\d{6,12}:[A-Za-z0-9_-]{30,}\b|redis:\/\/[^@\s]+:[^@\s]+@/);
  });

  it('reads secrets, the TLS certificate, .env and models from files git ignores and images leave out', () => {
    const files = [
      ...Object.values(compose.secrets as Record<string, JsonObject>).map((secret) => String(secret.file)),
      ...mountsOf(service('nginx')).map((m) => m.source).filter((source) => source.startsWith('./certs/')),
      './.env',
      './models/model.gguf',
    ];
    expect(files).toHaveLength(5);
    for (const file of files) {
      const path = join('infra', file);
      const ignoredByGit = spawnSync('git', ['check-ignore', '--quiet', '--no-index', path], { cwd: ROOT }).status;
      expect(ignoredByGit, `${path} is not ignored by git`).toBe(0);
      expect(dockerignored(path), `${path} is not in .dockerignore`).toBe(true);
    }
  });
});

describe('.env.example', () => {
  const example = read(join(INFRA, '.env.example'));
  const documented = new Set([...example.matchAll(/^#?\s*([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]));

  it('documents every variable docker-compose.yml reads', () => {
    expect([...composeVariables()].filter((name) => !documented.has(name))).toEqual([]);
  });

  it('holds no secret value, only where the secrets are', () => {
    expect(example).not.toMatch(/PRIVATE KEY|"kty"|\b\d{6,12}:[A-Za-z0-9_-]{30,}\b/);
    for (const secret of EDGE_SECRETS) expect(example).not.toMatch(new RegExp(`^${secret}=`, 'm'));
  });

  it('gives values docker-compose.yml accepts, to the same effect as its defaults', () => {
    const env = Object.fromEntries([...example.matchAll(/^([A-Z][A-Z0-9_]*)=(.*)$/gm)].map((m) => [m[1] ?? '', m[2] ?? '']));
    const fromExample = interpolateAll(raw, env) as JsonObject;
    expect(fromExample.services).toEqual(services);
    expect(fromExample.secrets).toEqual(compose.secrets);
  });
});

describe('interpolate (compose semantics the checks rely on)', () => {
  it('substitutes defaults, required values and escapes like compose', () => {
    // Template literals with \${ so that the text holds compose's ${...}, not JavaScript's.
    expect(interpolate(`\${A:-x} \${B-y} \${C:-} $$D`, { A: '', B: '' })).toBe('x   $D');
    expect(interpolate(`\${A}`, { A: 'v' })).toBe('v');
    expect(() => interpolate(`\${A:?say it}`, { A: '' })).toThrow('A: say it');
    expect(interpolate(`\${A?say it}`, { A: '' })).toBe('');
  });
});

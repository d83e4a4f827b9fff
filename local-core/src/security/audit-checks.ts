import { TELEGRAM_PLACEHOLDER_SENDERS, isLoopbackHost, isPlainTextOffLoopback } from '@hearth/shared';
import { nodeVersionProblem } from '../node-version.js';
import type { PluginInfo } from '../plugins/plugin-info.js';
import type { NamespaceSupport } from '../plugins/sandbox.js';

/** How much a finding matters: `high` is a way in or a leak now, and makes the audit exit 1. */
export type Severity = 'high' | 'medium' | 'low' | 'info';

/** One thing `hearth security audit` found, with what to do; `chmod` when --fix can do it. */
export interface Finding {
  id: string;
  severity: Severity;
  title: string;
  detail: string;
  fix: string;
  chmod?: { path: string; mode: number };
}

/** A file the audit looks at: its mode, or undefined when it is not there. */
export interface FileFacts {
  path: string;
  mode: number | undefined;
}

/** What the audit is given: read from this machine by audit-facts.ts, or made by a test. */
export interface AuditFacts {
  /** The core's settings (the environment, filled from .env). */
  core: Readonly<Record<string, string | undefined>>;
  /** The edge's settings as `hearth edge` would pass them (environment, then .dev.vars). */
  edge: Readonly<Record<string, string | undefined>>;
  keyFile: FileFacts;
  /** .env and .dev.vars: settings files that hold secrets. */
  settingsFiles: FileFacts[];
  dataDir: FileFacts;
  nodeVersion: string;
  plugins: { enabled: boolean; isolation: 'auto' | 'namespaces' | 'off'; infos: PluginInfo[] };
  namespaces: NamespaceSupport;
  /** Client tokens this core issued that are still valid: their id, user and lifetime in seconds. */
  tokens: { jti: string; user: string; lifetimeS: number }[];
}

const LONG_TOKEN_S = 90 * 86_400;
const SECRET_NAME = /SECRET|TOKEN|PASSWORD|PRIVATE|_KEY$/;


const hostOf = (url: string): string | undefined => {
  try {
    return new URL(url).hostname;
  } catch {
    return undefined;
  }
};

const readableByOthers = (file: FileFacts): boolean => file.mode !== undefined && (file.mode & 0o077) !== 0;
const octal = (mode: number) => `0${(mode & 0o777).toString(8)}`;

/** Who may talk to the assistant, per platform. */
function checkAccess(facts: AuditFacts): Finding[] {
  const findings: Finding[] = [];
  for (const name of ['HEARTH_ACCESS_POLICY', 'HEARTH_ACCESS_POLICY_TELEGRAM', 'HEARTH_ACCESS_POLICY_WHATSAPP']) {
    if (facts.edge[name] === 'open') {
      findings.push({
        id: 'access-open',
        severity: 'high',
        title: `${name}=open`,
        detail: 'anyone who finds the bot talks to your assistant, its tools and its memory',
        fix: `set ${name}=pairing (the default) and approve people with npx hearth pair approve CODE`,
      });
    }
  }
  const placeholders = (facts.edge.HEARTH_ALLOWLIST ?? '').split(',').map((entry) => entry.trim()).filter((entry) => TELEGRAM_PLACEHOLDER_SENDERS.includes(entry));
  if (placeholders.length > 0) {
    findings.push({
      id: 'allowlist-placeholder',
      severity: 'high',
      title: `HEARTH_ALLOWLIST holds Telegram's shared sender ${placeholders.join(', ')}`,
      detail: 'Telegram uses these ids for every anonymous group admin and channel: allowing one allows anyone who is one',
      fix: `remove ${placeholders.join(', ')} from HEARTH_ALLOWLIST`,
    });
  }
  return findings;
}

/** Files that hold keys and secrets: the owner's alone. */
function checkFiles(facts: AuditFacts): Finding[] {
  const findings: Finding[] = [];
  if (facts.keyFile.mode === undefined) {
    findings.push({ id: 'key-missing', severity: 'info', title: 'no core key yet', detail: `${facts.keyFile.path} does not exist`, fix: 'npx hearth init (or npm start) makes one' });
  } else if (readableByOthers(facts.keyFile)) {
    findings.push({
      id: 'key-mode',
      severity: 'high',
      title: 'the core key can be read by others',
      detail: `${facts.keyFile.path} is ${octal(facts.keyFile.mode)}: whoever reads it can open every queued message and mint any token`,
      fix: `chmod 600 ${facts.keyFile.path}`,
      chmod: { path: facts.keyFile.path, mode: 0o600 },
    });
  }
  for (const file of facts.settingsFiles) {
    if (file.mode === undefined || !readableByOthers(file)) continue;
    findings.push({
      id: 'settings-mode',
      severity: 'high',
      title: `${file.path} can be read by others`,
      detail: `${file.path} is ${octal(file.mode)} and holds the deployment's secrets (bot tokens, webhook secrets)`,
      fix: `chmod 600 ${file.path}`,
      chmod: { path: file.path, mode: 0o600 },
    });
  }
  if (facts.dataDir.mode !== undefined && readableByOthers(facts.dataDir)) {
    findings.push({
      id: 'data-dir-mode',
      severity: 'medium',
      title: 'the data folder is open to others',
      detail: `${facts.dataDir.path} is ${octal(facts.dataDir.mode)}: it holds the conversations (core.db) and the plugins' data`,
      fix: `chmod 700 ${facts.dataDir.path}`,
      chmod: { path: facts.dataDir.path, mode: 0o700 },
    });
  }
  return findings;
}

/** Where the core listens and dials, and Redis. */
function checkNetwork(facts: AuditFacts): Finding[] {
  const findings: Finding[] = [];
  const adminHost = facts.core.HEARTH_ADMIN_HOST ?? '127.0.0.1';
  if (facts.core.HEARTH_ADMIN_PORT !== '0' && !isLoopbackHost(adminHost)) {
    findings.push({
      id: 'admin-exposed',
      severity: 'high',
      title: `the admin port listens on ${adminHost}`,
      detail: 'its status and metrics routes are for this machine, not the network',
      fix: 'set HEARTH_ADMIN_HOST=127.0.0.1 (the default), or put it behind a proxy that authenticates',
    });
  }
  const edgeUrl = facts.core.HEARTH_EDGE_URL;
  const edgeHost = edgeUrl ? hostOf(edgeUrl) : undefined;
  if (edgeUrl && edgeHost && isPlainTextOffLoopback(new URL(edgeUrl))) {
    findings.push({
      id: 'edge-insecure',
      severity: 'high',
      title: `HEARTH_EDGE_URL is plain text (${new URL(edgeUrl).protocol})`,
      detail: 'the tunnel token and every message would cross the network unencrypted',
      fix: `use https://${edgeHost}${facts.core.HEARTH_ALLOW_INSECURE_EDGE === 'on' ? ' and remove HEARTH_ALLOW_INSECURE_EDGE=on' : ''}`,
    });
  }
  const redisUrl = facts.core.REDIS_URL;
  const redisHost = redisUrl ? hostOf(redisUrl) : undefined;
  if (redisUrl && redisHost && !isLoopbackHost(redisHost)) {
    const url = new URL(redisUrl);
    if (!url.password) {
      findings.push({
        id: 'redis-open',
        severity: 'high',
        title: `Redis at ${redisHost} without a password`,
        detail: 'sessions, history and the queue are in it',
        fix: 'set requirepass (or an ACL user) on the server and put it in REDIS_URL (redis://:PASSWORD@host:6379), over rediss:// off this machine',
      });
    } else if (url.protocol !== 'rediss:') {
      findings.push({ id: 'redis-plain', severity: 'medium', title: `Redis at ${redisHost} over plain text`, detail: 'the password and the data cross the network unencrypted', fix: 'use rediss:// (TLS)' });
    }
  }
  if (facts.edge.HEARTH_DIAGNOSTICS === 'on') {
    findings.push({ id: 'diagnostics-on', severity: 'medium', title: 'HEARTH_DIAGNOSTICS=on', detail: 'benchmark routes are open at the edge', fix: 'remove HEARTH_DIAGNOSTICS (it is for benchmarks, never production)' });
  }
  return findings;
}

/** Webhook secrets an attacker would have to guess. */
function checkSecrets(facts: AuditFacts): Finding[] {
  const findings: Finding[] = [];
  const weak = (value: string) => value.length < 32 || new Set(value).size < 10;
  for (const [name, severity] of [
    ['TELEGRAM_WEBHOOK_SECRET', 'high'],
    ['WHATSAPP_VERIFY_TOKEN', 'medium'],
  ] as const) {
    const value = facts.edge[name];
    if (value && weak(value)) {
      findings.push({
        id: 'weak-secret',
        severity,
        title: `${name} is weak (${value.length} characters)`,
        detail: 'whoever guesses it can post forged updates as any sender',
        fix: `set ${name} to 32 or more random characters (openssl rand -hex 32), at the edge and at the platform`,
      });
    }
  }
  return findings;
}

/** The plugins: what each may reach, and the boundary around them. */
function checkPlugins(facts: AuditFacts): Finding[] {
  if (!facts.plugins.enabled) return [];
  const findings: Finding[] = [];
  if (facts.plugins.isolation === 'off' || !facts.namespaces.ok) {
    findings.push({
      id: 'plugins-no-namespaces',
      severity: 'medium',
      title: 'plugin hosts run without namespaces of their own',
      detail: facts.plugins.isolation === 'off' ? 'HEARTH_PLUGINS_ISOLATION=off' : facts.namespaces.ok ? '' : facts.namespaces.reason,
      fix: 'apt install bubblewrap and set HEARTH_PLUGINS_ISOLATION=auto (the QuickJS engine is then not the only boundary)',
    });
  }
  for (const info of facts.plugins.infos) {
    if (!info.enabled || !info.valid || !info.permissions) continue;
    const { network, lan, secrets, data } = info.permissions;
    if (lan.length > 0) {
      findings.push({
        id: 'plugin-lan',
        severity: 'low',
        title: `plugin ${info.name} may reach the local network: ${lan.join(', ')}`,
        detail: 'a LAN grant reaches past the public internet (a router, a home hub, this machine)',
        fix: `keep it only if ${info.name} needs it; otherwise remove permissions.lan, or npx hearth plugins disable ${info.name}`,
      });
    }
    if (network.length > 0 || secrets.length > 0 || data) {
      findings.push({
        id: 'plugin-grants',
        severity: 'info',
        title: `plugin ${info.name}`,
        detail: `network: ${network.join(', ') || 'none'}; secrets: ${secrets.join(', ') || 'none'}; data: ${data ? 'yes' : 'no'}`,
        fix: 'nothing to do if these are what you expect',
      });
    }
  }
  return findings;
}

function checkRuntime(facts: AuditFacts): Finding[] {
  const findings: Finding[] = [];
  const problem = nodeVersionProblem(facts.nodeVersion);
  if (problem) findings.push({ id: 'node-version', severity: 'high', title: `Node.js ${facts.nodeVersion}`, detail: problem, fix: 'install Node 24 LTS (or 20.20+ / 22.22+), then npm install again' });
  for (const token of facts.tokens.filter((t) => t.lifetimeS > LONG_TOKEN_S)) {
    findings.push({
      id: 'token-long-lived',
      severity: token.lifetimeS > 4 * LONG_TOKEN_S ? 'medium' : 'low',
      title: `client token ${token.jti} of ${token.user} lives ${Math.round(token.lifetimeS / 86_400)} days`,
      detail: 'a leaked long-lived token is a long way in',
      fix: `npx hearth token revoke ${token.jti}, and issue one with --ttl 30d or less`,
    });
  }
  const secretsInCore = Object.keys(facts.core).filter((name) => /^(?:TELEGRAM|WHATSAPP)_/.test(name) && SECRET_NAME.test(name));
  if (secretsInCore.length > 0 && facts.core.HEARTH_EDGE_URL && !isLoopbackHost(hostOf(facts.core.HEARTH_EDGE_URL) ?? '')) {
    findings.push({
      id: 'platform-secrets-at-home',
      severity: 'low',
      title: `the core's environment holds ${secretsInCore.join(', ')}`,
      detail: 'with a deployed edge these belong there (wrangler secret put), not at home where plugins and tools run',
      fix: `remove ${secretsInCore.join(', ')} from the core's .env`,
    });
  }
  return findings;
}

const ORDER: Record<Severity, number> = { high: 0, medium: 1, low: 2, info: 3 };

/**
 * Every finding about a deployment, most severe first: who may talk to it, files with keys and
 * secrets, what listens and dials where, webhook secrets, plugins and their grants, Node, tokens.
 *
 * @example
 * const findings = auditDeployment(await gatherFacts(process.env));
 * if (findings.some((f) => f.severity === 'high')) process.exitCode = 1;
 */
export function auditDeployment(facts: AuditFacts): Finding[] {
  return [checkAccess, checkFiles, checkNetwork, checkSecrets, checkPlugins, checkRuntime]
    .flatMap((check) => check(facts))
    .sort((a, b) => ORDER[a.severity] - ORDER[b.severity]);
}

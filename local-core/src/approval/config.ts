import { AdmissibleSenderSchema, wholeNumber } from '@hearth/shared';
import { z } from 'zod';
import { parseEnv } from '../env.js';

const TOOL_NAMES = /^(?:[^\s,]{1,128}(?:,[^\s,]{1,128})*)?$/;
const toolNames = (name: string) =>
  z
    .string()
    .regex(TOOL_NAMES, `${name} is a comma-separated list of tool names, e.g. set_reminder,delete_file`)
    .default('')
    .transform((text) => new Set(text.split(',').filter(Boolean)));

const senders = (name: string) =>
  z
    .string()
    .transform((text, ctx) => {
      const entries = text.split(',').map((entry) => entry.trim()).filter(Boolean);
      for (const entry of entries) {
        const parsed = AdmissibleSenderSchema.safeParse(entry);
        if (!parsed.success) ctx.addIssue({ code: 'custom', message: `${name}: ${parsed.error.issues[0]?.message ?? 'not a sender'} (${entry})` });
      }
      return entries;
    })
    .optional();

/** The approval settings' environment variables. */
export const ApprovalEnvSchema = z.object({
  HEARTH_APPROVAL_TIMEOUT_MS: wholeNumber('HEARTH_APPROVAL_TIMEOUT_MS', 5_000, 3_600_000).default(120_000).meta({ description: "how long a turn waits for the owner's Run / Skip (5 s to 1 h); the generation time limit is held meanwhile" }),
  HEARTH_OWNER: senders('HEARTH_OWNER').meta({ description: 'who approves tool calls that need it, comma-separated `platform:id`; only their turns are offered such tools (see [approval](plugins.md#approval-the-owner-says-yes-before-a-risky-tool-runs))', shownDefault: '`HEARTH_ALLOWLIST`' }),
  // The edge's setting; read here only as the default owner when HEARTH_OWNER is not set.
  HEARTH_ALLOWLIST: senders('HEARTH_ALLOWLIST').meta({ description: "the edge's allowlist, read by the core only as the owners when `HEARTH_OWNER` is unset" }),
  HEARTH_APPROVE_TOOLS: toolNames('HEARTH_APPROVE_TOOLS').meta({ description: 'comma-separated tool names that always ask the owner first' }),
  HEARTH_APPROVE_NEVER: toolNames('HEARTH_APPROVE_NEVER').meta({ description: 'comma-separated tool names that never ask (overrides manifests, MCP hints and `HEARTH_APPROVE_TOOLS`)' }),
});

export interface ApprovalConfig {
  /** How long a turn waits for the owner's Run/Skip (HEARTH_APPROVAL_TIMEOUT_MS). */
  timeoutMs: number;
  /** Who may approve, as sender keys (HEARTH_OWNER, default HEARTH_ALLOWLIST); empty: no tool needing approval is offered. */
  owners: ReadonlySet<string>;
  /** Tools that always ask (HEARTH_APPROVE_TOOLS), whatever their plugin or server says. */
  always: ReadonlySet<string>;
  /** Tools that never ask (HEARTH_APPROVE_NEVER): the owner trusts them. */
  never: ReadonlySet<string>;
}

/**
 * Validates the approval settings.
 *
 * @throws ConfigError naming the variable and the fix
 * @example
 * loadApprovalConfig({ HEARTH_OWNER: 'telegram:42' }); // { timeoutMs: 120000, owners: Set { 'telegram:42' }, always: Set {}, never: Set {} }
 */
export function loadApprovalConfig(env: NodeJS.ProcessEnv): ApprovalConfig {
  const e = parseEnv(ApprovalEnvSchema, env);
  return {
    timeoutMs: e.HEARTH_APPROVAL_TIMEOUT_MS,
    owners: new Set(e.HEARTH_OWNER ?? e.HEARTH_ALLOWLIST ?? []),
    always: e.HEARTH_APPROVE_TOOLS,
    never: e.HEARTH_APPROVE_NEVER,
  };
}

import { chmod } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { auditDeployment, type Finding, type Severity } from '../security/audit-checks.js';
import { gatherFacts } from '../security/audit-facts.js';
import { EDGE_DIR } from './edge-process.js';
import { runCommand } from './run.js';

const MARK: Record<Severity, string> = { high: '✗ HIGH  ', medium: '! MEDIUM', low: '· low   ', info: '  info  ' };

/** The findings for a person: one line each with its detail and fix, and a count. */
function formatFindings(findings: readonly Finding[], fixed: readonly Finding[] = []): string {
  const lines = findings.map((f) => `${MARK[f.severity]} ${f.title}\n           ${f.detail}\n           fix: ${f.fix}`);
  for (const f of fixed) lines.push(`  fixed    ${f.title} (${f.fix})`);
  const count = (severity: Severity) => findings.filter((f) => f.severity === severity).length;
  lines.push(`${count('high')} high, ${count('medium')} medium, ${count('low')} low, ${count('info')} to know${fixed.length ? `; ${fixed.length} fixed` : ''}`);
  return `${lines.join('\n')}\n`;
}

/** Applies the safe fixes (file modes); returns the findings it fixed. */
async function applyFixes(findings: readonly Finding[]): Promise<Finding[]> {
  const fixed: Finding[] = [];
  for (const finding of findings) {
    if (!finding.chmod) continue;
    await chmod(finding.chmod.path, finding.chmod.mode);
    fixed.push(finding);
  }
  return fixed;
}

/** Registers `hearth security audit`. */
export function registerSecurityCommand(program: Command): void {
  program
    .command('security')
    .description("checks of this deployment's security")
    .command('audit')
    .description(
      'check the deployment as an attacker would look at it: access policy, key and settings file modes, admin port, edge URL, Redis, webhook secrets, plugins and their grants, Node, long-lived tokens; exit 1 on a high finding',
    )
    .option('--json', 'print the findings as JSON for programs', false)
    .option('--fix', 'apply the safe fixes (file modes) and check again', false)
    .option('--edge-vars <path>', "the edge's settings file", join(EDGE_DIR, '.dev.vars'))
    .action((options: { json: boolean; fix: boolean; edgeVars: string }) =>
      runCommand(async () => {
        let findings = auditDeployment(await gatherFacts(process.env, options.edgeVars));
        const fixed = options.fix ? await applyFixes(findings) : [];
        if (fixed.length > 0) findings = auditDeployment(await gatherFacts(process.env, options.edgeVars));
        process.stdout.write(options.json ? `${JSON.stringify({ findings, fixed: fixed.map((f) => f.id) }, null, 2)}\n` : formatFindings(findings, fixed));
        if (findings.some((f) => f.severity === 'high')) process.exitCode = 1;
      }),
    );
}

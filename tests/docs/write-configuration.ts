import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CONFIGURATION_MD, configurationReference, descriptionProblems, schemaFields } from './config-reference.js';

/** `npm run docs:config`: writes docs/configuration.md from the schemas, and says which fields lack a description. */
const fields = schemaFields();
writeFileSync(CONFIGURATION_MD, configurationReference(fields));
process.stdout.write(`wrote ${fileURLToPath(CONFIGURATION_MD)}\n`);
const problems = descriptionProblems(fields);
if (problems.length > 0) {
  process.stderr.write(`${problems.join('\n')}\n`);
  process.exitCode = 1;
}

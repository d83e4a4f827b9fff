// Redaction: cards, e-mail addresses, phone numbers, IBANs, national ids and secrets are
// replaced before anything is logged, stored for learning or exported.
export { REDACTION_KINDS, RedactionKindSchema, type RedactionKind } from './kinds.js';
export { redact, replacementFor, type RedactOptions, type RedactionResult } from './redact.js';
export { isSecretKey, redactValue, type RedactValueOptions } from './redact-value.js';
export { RedactionConfigSchema, RedactionEnvSchema, redactionConfigFromEnv, type RedactionConfig } from './config.js';
export { isCardNumber, luhnValid } from './cards.js';
export { ibanValid } from './ibans.js';
export { cpfValid, dniNieValid, ninoValid, ssnValid } from './national-ids.js';
export { isPhoneNumber } from './phones.js';
export { SECRET_RULE_NAMES } from './secrets.js';
export { LogKeySchema, logKeyOf, pseudonymOf, pseudonymizer, randomLogKey } from './pseudonyms.js';

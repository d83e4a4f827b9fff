/**
 * Clock skew every verifier of a Hearth token allows on `exp`, `nbf` and `iat` (the core's
 * tunnel and admin tokens, client tokens). One constant, because what remembers a token (a
 * revocation, a core token's `jti`) must outlive the last moment any verifier still accepts it:
 * `exp` plus this.
 */
export const CLOCK_SKEW_SECONDS = 30;
export const CLOCK_SKEW_MS = CLOCK_SKEW_SECONDS * 1000;

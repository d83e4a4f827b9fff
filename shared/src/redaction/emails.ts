import type { Detector } from './kinds.js';
import { scan, wholeMatch } from './scan.js';

// Local part up to 64 characters (RFC 5321), up to 8 domain labels of at most 63, and a
// letter TLD (or an IDN `xn--` one), so `zod@4.6.7` and `user@localhost` are not addresses.
// Every quantifier is bounded and the lookbehind stops candidates starting mid-token, which
// keeps `a@a@a@...` and long runs linear.
const EMAIL =
  /(?<![\w.%+-])[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.){1,8}(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59})(?![\w-]|\.[A-Za-z0-9])/g;

/** E-mail addresses (ASCII; internationalized local parts are not recognized). */
export const emailDetector: Detector = {
  kind: 'email',
  find: (text) => (text.includes('@') ? scan(text, EMAIL, wholeMatch) : []),
};

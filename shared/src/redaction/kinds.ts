import { z } from 'zod';

/**
 * What the redactor can find. Each kind is replaced by `[REDACTED:<kind>]` by default:
 * - `secret`: API keys and tokens with a known shape, PEM private keys, `Bearer` tokens,
 *   credentials in URLs, and values of `password=` / `token:`-style pairs;
 * - `email`: e-mail addresses;
 * - `iban`: IBANs of the registry's countries, with their length and mod-97 check;
 * - `card`: payment card numbers (13-19 digits, Luhn-valid);
 * - `national_id`: US SSN, UK National Insurance number, Spanish DNI/NIE, Brazilian CPF;
 * - `phone`: international (`+CC ...`) and grouped national phone numbers.
 */
export const REDACTION_KINDS = ['secret', 'email', 'iban', 'card', 'national_id', 'phone'] as const;

export const RedactionKindSchema = z.enum(REDACTION_KINDS);
export type RedactionKind = z.infer<typeof RedactionKindSchema>;

/** A finding: the characters `[start, end)` of the text. */
export interface Span {
  start: number;
  end: number;
}

/** One family of findings: `find` returns spans in text order (spans of one detector may overlap). */
export interface Detector {
  readonly kind: RedactionKind;
  find(text: string): Span[];
}

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 } as const;

/** The units a duration takes, as help texts name them. */
export const DURATION_UNITS = 's m h d w';

/**
 * A whole number with a unit (`90s`, `15m`, `12h`, `30d`, `2w`) in milliseconds; undefined for
 * anything else. A unit is required: a bare `30` could mean seconds or days.
 */
export function parseDuration(value: string): number | undefined {
  const match = /^(\d{1,9})([smhdw])$/.exec(value.trim());
  const unit = match?.[2] as keyof typeof UNIT_MS | undefined;
  return match?.[1] && unit ? Number(match[1]) * UNIT_MS[unit] : undefined;
}

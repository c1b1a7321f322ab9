/**
 * Instants as binvault writes them: ISO 8601 UTC to the second in records, reports and catalogs
 * (`2026-11-20T15:04:05Z`), a compact stamp in names (`20261120T150405Z`).
 */

/** Seconds since the epoch → `2026-11-20T15:04:05Z` (fractions dropped, not rounded). */
export const isoSeconds = (seconds: number): string => new Date(Math.floor(seconds) * 1000).toISOString().replace('.000Z', 'Z');

/** `2026-11-20T15:04:05Z` → seconds since the epoch. */
export const epochSeconds = (iso: string): number => Date.parse(iso) / 1000;

/**
 * An instant as a stamp for names: `20261120T150405Z`.
 *
 * @example compactStamp(new Date('2026-11-20T15:04:05.123Z')) // '20261120T150405Z'
 */
export const compactStamp = (instant: Date): string => instant.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');

/** Whether a time zone name is one the runtime knows (`Asia/Seoul`, `UTC`). */
export const isValidTimeZone = (timeZone: string): boolean => {
  try {
    new Intl.DateTimeFormat('en', { timeZone });
    return true;
  } catch {
    return false;
  }
};

import { TimeInputError } from './errors.js';

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

/** The wall clock of an instant in a zone, as if it were UTC (ms); minus the instant, the zone's offset. */
const wallClock = (ms: number, timeZone: string): number => {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' })
      .formatToParts(new Date(ms))
      .map((p) => [p.type, p.value]),
  );
  return Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day), Number(parts.hour), Number(parts.minute), Number(parts.second));
};

/** `+09:00`, `-04:00` from an offset in minutes. */
export const formatOffset = (minutes: number): string => {
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
};

/**
 * The instants whose wall clock in `timeZone` reads `wall` (a UTC-coded ms value of the reading):
 * none when the clocks skipped it (the hour lost when summer time starts), two when they showed it
 * twice (the hour repeated when it ends), one otherwise. With their offsets in minutes.
 */
export const instantsOfWallClock = (wall: number, timeZone: string): { ms: number; offset: number }[] => {
  const offsets = new Set<number>();
  // Zones change their offset at most once around a given day; look a day either side.
  for (const probe of [wall - 86_400_000, wall - 43_200_000, wall, wall + 43_200_000, wall + 86_400_000]) offsets.add(wallClock(probe, timeZone) - probe);
  return [...offsets]
    .map((offset) => ({ ms: wall - offset, offset: offset / 60_000 }))
    .filter(({ ms }) => wallClock(ms, timeZone) === wall)
    .sort((a, b) => a.ms - b.ms);
};

const daysInMonth = (year: number, month: number): number => new Date(Date.UTC(year, month, 0)).getUTCDate();

/**
 * A time as a person types it, strictly: ISO 8601 with a zone (`2026-11-20T15:04:05Z`,
 * `2026-11-21 00:04:05+09:00`) or a wall clock in `timeZone` (`2026-11-21 00:04:05`), to the second
 * (a fraction names the second it falls in). Every impossible field is refused, never rolled over
 * into another second: month 13, 31 April, 29 February of a common year, hour 24, minute or second
 * 60, an offset beyond ±14:00, anything after the time. A wall clock the zone skipped (summer time
 * begins) is refused; one it showed twice (summer time ends) is refused unless an offset says which.
 *
 * @returns seconds since the epoch
 * @throws TimeInputError with one line that quotes the input
 */
export const parseInstant = (text: string, timeZone: string): number => {
  const refuse = (why: string): never => {
    throw new TimeInputError(`'${text}' is not a time: ${why}`);
  };
  const match = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(?:([zZ])|([+-])(\d{2}):?(\d{2}))?$/.exec(text.trim());
  if (!match) return refuse("use ISO 8601 with a zone (2026-11-20T15:04:05Z) or 'YYYY-MM-DD HH:MM:SS' (in BINVAULT_TZ)");
  const [, y, mo, d, h, mi, s, , zulu, sign, oh, om] = match;
  const [year, month, day, hour, minute, second] = [y, mo, d, h, mi, s].map(Number) as [number, number, number, number, number, number];
  if (month < 1 || month > 12) refuse(`there is no month ${mo}`);
  if (day < 1 || day > daysInMonth(year, month)) refuse(`${y}-${mo} has no day ${d}`);
  if (hour > 23) refuse(`there is no hour ${h} (00 to 23)`);
  if (minute > 59) refuse(`there is no minute ${mi} (00 to 59)`);
  if (second > 59) refuse(`there is no second ${s} (00 to 59)`);
  const wall = Date.UTC(year, month - 1, day, hour, minute, second);
  if (zulu) return wall / 1000;
  if (sign) {
    const offset = Number(oh) * 60 + Number(om);
    if (Number(om) > 59 || offset > 14 * 60) refuse(`the offset ${sign}${oh}:${om} is beyond ±14:00`);
    return (wall - (sign === '-' ? -offset : offset) * 60_000) / 1000;
  }
  const instants = instantsOfWallClock(wall, timeZone);
  const [only, second_] = instants;
  if (!only) {
    throw new TimeInputError(`'${text}' does not exist in ${timeZone}: the clocks skipped that time (summer time began); give another time, or an offset`);
  }
  if (second_) {
    const local = `${y}-${mo}-${d}T${h}:${mi}:${s}`;
    const both = instants.map((i) => `${local}${formatOffset(i.offset)} (${isoSeconds(i.ms / 1000)})`).join(' or ');
    throw new TimeInputError(`'${text}' happened twice in ${timeZone} (the clocks were set back): say which with its offset, ${both}`);
  }
  return only.ms / 1000;
};

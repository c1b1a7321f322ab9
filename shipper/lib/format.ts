/** Human-readable sizes and durations for terminal output. */
export const formatBytes = (bytes: number): string => {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
};

export const formatSeconds = (seconds: number): string =>
  seconds < 10 ? `${seconds.toFixed(2)} s` : seconds < 120 ? `${seconds.toFixed(1)} s` : `${Math.round(seconds / 60)} min`;

/** A duration as people say it: `7 days`, `36 h`, `25 min`, `28 s`. */
export const formatDuration = (seconds: number): string =>
  seconds >= 2 * 86_400 && seconds % 86_400 === 0
    ? `${seconds / 86_400} days`
    : seconds >= 7200
      ? `${Math.round(seconds / 3600)} h`
      : seconds >= 120
        ? `${Math.round(seconds / 60)} min`
        : `${Math.round(seconds)} s`;

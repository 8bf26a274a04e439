/**
 * Seconds from an event's `time` (ISO 8601, set by the service that made it) to `now` on this process's clock. Two
 * processes' clocks differ by a little: an event that seems to come from the future counts as 0, not as a negative
 * duration (which a histogram would put in its lowest bucket as if it were fast, and which would lower its sum).
 */
export function secondsSince(time: string, now = Date.now()): number {
  const elapsed = (now - Date.parse(time)) / 1000;
  return elapsed > 0 ? elapsed : 0;
}

// Dates as usher's emails write them for people: "Friday 11 December 2026, 14:00 UTC".
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August',
  'September', 'October', 'November', 'December'];

// The instant iso (RFC 3339) in the emails' words, in UTC to the minute.
export function readableUtc(iso) {
  const at = new Date(iso);
  const two = (n) => String(n).padStart(2, '0');
  return `${DAYS[at.getUTCDay()]} ${at.getUTCDate()} ${MONTHS[at.getUTCMonth()]} ` +
    `${at.getUTCFullYear()}, ${two(at.getUTCHours())}:${two(at.getUTCMinutes())} UTC`;
}

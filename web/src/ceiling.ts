// The grant ceiling in time (rule 4): nothing a manager gives may outlast their own right to
// give it. The server says when that right ends (`until` in GET /agencies/{id}/grantable); the
// dialogs default their "until" date to it, allow no later day, and send an end no later than it.

// The UTC day of an instant, as a date field holds it: "2027-01-31".
export const utcDay = (iso: string) => new Date(iso).toISOString().slice(0, 10);

const longDay = new Intl.DateTimeFormat('en-GB', {
  day: 'numeric',
  month: 'long',
  year: 'numeric',
  timeZone: 'UTC',
});

// "31 January 2027": the day an end falls on, in UTC like the date fields.
export const readableDay = (iso: string) => longDay.format(new Date(iso));

// Why the date cannot be later, in one sentence.
export const ceilingSentence = (until: string) =>
  `Your own access here ends on ${readableDay(until)}; what you give ends by then.`;

// Why an end later than until is refused, whoever refuses it: the server or the console.
export const outlastSentence = (until: string) =>
  `Your own access here ends on ${readableDay(until)}, so what you give must end by then. ` +
  'Choose that day or an earlier one.';

// Whether a last day (YYYY-MM-DD) falls after the ceiling's day.
export const pastCeiling = (lastDay: string | undefined, ceiling: string | null | undefined) =>
  !!lastDay && !!ceiling && lastDay > utcDay(ceiling);

// A last day held to a ceiling that has just become known or changed: the ceiling's day when
// none is chosen or the one chosen is later, else the day chosen. Without a ceiling, unchanged.
export function dayHeldTo(lastDay: string, ceiling: string | null | undefined): string {
  return ceiling && (!lastDay || pastCeiling(lastDay, ceiling)) ? utcDay(ceiling) : lastDay;
}

// The earliest of the ends given (null and undefined: no end), or null when none ends.
export function earliestEnd(...ends: (string | null | undefined)[]): string | null {
  let best: string | null = null;
  for (const e of ends) if (e && (!best || Date.parse(e) < Date.parse(best))) best = e;
  return best;
}

// The end to send for a last day (YYYY-MM-DD, access lasts to the end of it in UTC), held to
// the ceiling: on the ceiling's own day the ceiling itself, which may fall before midnight.
// No day chosen while a ceiling holds: the ceiling.
export function endToSend(lastDay: string | undefined, ceiling: string | null | undefined) {
  const end = lastDay ? `${lastDay}T23:59:59Z` : null;
  if (!ceiling) return end;
  return end && Date.parse(end) < Date.parse(ceiling) ? end : ceiling;
}

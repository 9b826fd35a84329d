/* Wall-clock and monotonic time, and RFC 3339 formatting. Times in the model are Unix
 * milliseconds (int64). */
#ifndef USHER_BASE_CLOCK_H
#define USHER_BASE_CLOCK_H

#include <stdint.h>

#include "base/arena.h"

/* Milliseconds since the Unix epoch. Tests may shift it with clock_set_offset_ms. */
int64_t clock_now_ms(void);

/* Monotonic nanoseconds, for durations. */
int64_t clock_mono_ns(void);

/* Adds offset to clock_now_ms (for tests of expiry). */
void clock_set_offset_ms(int64_t offset);

/* Parses an RFC 3339 time in UTC ("2026-11-26T06:46:26Z", with optional fractional seconds,
 * "Z" or "+00:00") into milliseconds since the epoch (fractions below a millisecond are
 * dropped). Returns 0, or -1 for anything else (other offsets, impossible dates, years before
 * 1970 or after 9999). */
int clock_parse_ms(int64_t *out, const char *text);

/* "2026-11-26T06:46:26.123Z" in the arena; 0 or negative gives NULL. */
char *clock_format_ms(struct arena *a, int64_t ms);

/* The same instant as people read it, in UTC to the minute: "Friday 11 December 2026, 14:00
 * UTC" (English day and month names, whatever the locale). Allocated in a; 0 or negative
 * gives NULL. */
char *clock_format_readable_ms(struct arena *a, int64_t ms);

#endif

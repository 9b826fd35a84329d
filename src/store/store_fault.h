/* Fault injection for the store, compiled in only when USHER_FAULTS is defined (the test and
 * sanitizer builds; never a release build). It makes store calls fail the way a busy, broken
 * or full database would, so the tests can prove that writes fail cleanly and that the
 * decision path denies.
 *
 * The rules come from USHER_FAULT_FILE (a file re-read whenever it changes, so a test can turn
 * faults on and off while usher runs) or else USHER_FAULT_STORE. Rules are separated by commas:
 *
 *     kind:probability[:where]     or     kind:@N[:where]
 *
 * kind is busy (SQLITE_BUSY), ioerr (SQLITE_IOERR), full (SQLITE_FULL), or slow: the
 * statement runs and its rows are read, then the calling thread waits STORE_FAULT_SLOW_MS
 * before going on with them (so a test can hold a reader between its read and what it does
 * with what it read while others change the data); probability is 0..1,
 * or @N to fail exactly the Nth matching call after the rules were read (a test can then fail
 * each step of a change in turn); where is any (default), read (SELECT), write (INSERT,
 * UPDATE, DELETE), begin, commit, or sql=TEXT (statements containing TEXT). Every injected
 * fault is logged as store.fault. */
#ifndef USHER_STORE_STORE_FAULT_H
#define USHER_STORE_STORE_FAULT_H

#include <stdbool.h>

#include "base/error.h"

enum store_fault_point { STORE_FAULT_EXEC, STORE_FAULT_BEGIN, STORE_FAULT_COMMIT };

#define STORE_FAULT_SLOW_MS 2000

#ifdef USHER_FAULTS

/* Decides whether the store call at point (with sql for STORE_FAULT_EXEC, else NULL) fails.
 * Returns 0, or the error the driver gives for the injected condition (USHER_EUNAVAIL) with
 * err set. Thread-safe. */
int store_fault_hit(enum store_fault_point point, const char *sql, struct usher_error *err);

/* Waits STORE_FAULT_SLOW_MS when a slow rule matches sql, a statement that has just run. */
void store_fault_pause(const char *sql);

/* True when this build can inject faults. */
static inline bool store_fault_is_built(void)
{
    return true;
}

#else

static inline int store_fault_hit(enum store_fault_point point, const char *sql,
                                  struct usher_error *err)
{
    (void)point;
    (void)sql;
    (void)err;
    return 0;
}

static inline void store_fault_pause(const char *sql)
{
    (void)sql;
}

static inline bool store_fault_is_built(void)
{
    return false;
}

#endif

#endif

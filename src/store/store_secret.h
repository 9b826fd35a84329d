/* The server secret's check value (table secret_check, one row): what every process opening
 * the database compares its own secret with. Errors are those of store.h. */
#ifndef USHER_STORE_STORE_SECRET_H
#define USHER_STORE_STORE_SECRET_H

#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"

/* Reads the check value into *out (in a); *found is false when none was written yet. */
int store_secret_check_get(const char **out, bool *found, struct store_conn *c, struct arena *a,
                           struct usher_error *err);

/* Writes the check value; USHER_ECONFLICT when one exists. */
int store_secret_check_put(struct store_conn *c, struct arena *a, const char *mac, int64_t now,
                           struct usher_error *err);

#endif

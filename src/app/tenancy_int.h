/* What the files on agencies, environments and bots share (src/app/tenancy.c creates them,
 * src/app/places.c renames, suspends and deletes them): the check of a place's name and the
 * audit row of a change to a place. */
#ifndef USHER_APP_TENANCY_INT_H
#define USHER_APP_TENANCY_INT_H

#include <jansson.h>

#include "app/app.h"
#include "store/store.h"

/* Validates a place's name (required; trimmed, at most TEXT_NAME_MAX_CHARS, no control
 * characters) into *out (arena-owned). Errors: USHER_EINVAL on field "name". */
int tenancy_name_clean(const char **out, const struct app_call *call, const char *name);

/* Records "<kind>.<what>" about place id (kind "agency", "environment" or "bot") on c, in the
 * change's transaction: on agency_id's chain, or the platform's when agency_id is NULL.
 * Takes details (a new reference, may be NULL). Errors: those of app_audit_record. */
int tenancy_place_record(struct store_conn *c, const struct app_call *call, const char *agency_id,
                         const char *kind, const char *id, const char *what, json_t *details);

#endif

/* Reading an agency's audit log: per agency, per user (actor or subject) or person search, per
 * kinds of action, per time range, newest first, with the names of the people and places each
 * entry names (as recorded at the time), and a "view as" session's requests grouped under its
 * start. Needs a platform admin or audit.read at agency scope; another
 * agency is USHER_ENOTFOUND. There is no way to change or delete an entry. Both operations take
 * the call context of app/app.h: the reader is call->actor, pages live in call->arena. */
#ifndef USHER_APP_AUDIT_LOG_H
#define USHER_APP_AUDIT_LOG_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "app/app.h"
#include "store/store_audit_log.h"

#define APP_AUDIT_ACTION_MAX 100 /* longest action filter */
#define APP_AUDIT_ID_MAX     128 /* longest user id filter */
#define APP_AUDIT_Q_MAX      200 /* longest person search */
#define APP_AUDIT_GROUP_MAX  100 /* requests of one "view as" session listed with its start */

/* The filters of one query, as given (each may be NULL). */
struct app_audit_query {
    const char *user_id; /* actor or subject */
    /* Comma-separated kinds: "invitation.accepted", or a prefix with a trailing '*' */
    const char *action;
    const char *q;      /* words, each in a name or address of a person the entry names */
    const char *since;  /* RFC 3339: entries at or after */
    const char *until;  /* RFC 3339: entries before */
    const char *group;  /* "impersonation": requests made while viewing as someone go under
                           their session's start */
    const char *limit;  /* decimal 1..200, default 50 */
    const char *cursor; /* next_cursor of the previous page */
};

/* A person an entry names, as the reader sees them. */
struct app_audit_person {
    const char *name;  /* recorded when the entry was written, else the account's current name;
                          NULL when neither is known (erased, or no name given) */
    const char *email; /* likewise */
};

/* One listed entry. */
struct app_audit_item {
    struct store_audit_entry entry;
    struct app_audit_person actor, subject, impersonator;
    const char *scope_name; /* the place's name then (or now); NULL when unknown */
    bool is_grouped;        /* an "impersonation.started" entry with its requests attached */
    struct store_audit_request *requests; /* up to APP_AUDIT_GROUP_MAX, oldest first */
    size_t request_count;
    int64_t request_total;
};

/* One page of entries. */
struct app_audit_page {
    struct app_audit_item *items;
    size_t count;
    const char *next_cursor; /* NULL on the last page */
    bool can_see_sources;    /* the reader holds agency.manage: addresses and user agents shown */
};

/* Lists agency_id's entries matching q, newest first. Errors: USHER_EINVAL naming user_id,
 * action (up to STORE_AUDIT_ACTIONS_MAX kinds, each of lower-case letters, digits, '.', '_' and
 * '-', at most APP_AUDIT_ACTION_MAX, with an optional trailing '*'), q (1 to APP_AUDIT_Q_MAX
 * bytes, at most STORE_AUDIT_TERMS_MAX words), since or until (not RFC 3339), group, limit or
 * cursor; USHER_ENOTFOUND for an agency the actor cannot see;
 * USHER_EFORBIDDEN for a member without audit.read at agency scope. */
int app_audit_list(struct app_audit_page *out, const struct app_call *call, const char *agency_id,
                   const struct app_audit_query *q);

/* The details of entry e as a reader sees them: the stored details with the entry's personal
 * values (unless erased) merged back. A new object the caller releases; {} when the stored text
 * is not an object. */
json_t *app_audit_entry_details(const struct store_audit_entry *e);

/* Whether a details key holds a name or address of the entry's actor, subject or impersonator
 * as recorded when it was written ("actor_email", "subject_first_name", ...): a listing shows
 * these as the entry's people rather than among its details. */
bool app_audit_recorded_key(const char *key);

/* An export in progress: every entry matching the filters, newest first, as CSV or NDJSON. */
struct app_audit_export;

/* Checks access (as app_audit_list) and prepares an export of agency_id; format is "csv" or
 * "ndjson" (else USHER_EINVAL naming format). limit and cursor of q are ignored. The export
 * reads the store in batches as it is written; group is ignored (every entry is exported); free it
 * with app_audit_export_free. */
int app_audit_export_open(struct app_audit_export **out, const struct app_call *call,
                          const char *agency_id, const struct app_audit_query *q,
                          const char *format);

/* Writes up to max bytes of the export into buf; returns how many, 0 at the end, -1 when the
 * store fails midway. */
long app_audit_export_read(void *export, char *buf, size_t max);

/* Releases an export; accepts NULL. */
void app_audit_export_free(void *export);

/* The content type of an export format. */
const char *app_audit_export_type(const char *format);

#endif

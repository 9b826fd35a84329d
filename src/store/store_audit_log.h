/* Reading the audit log (written by store_audit.h): an agency's entries, newest first, with
 * keyset pagination on the row id, and the requests made during one "view as" session. Nothing
 * here updates or deletes a row. Strings live in the arena; errors are those of store.h. */
#ifndef USHER_STORE_STORE_AUDIT_LOG_H
#define USHER_STORE_STORE_AUDIT_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "store/store_audit.h"

#define STORE_AUDIT_ACTIONS_MAX 40 /* kinds of action one query may ask for */
#define STORE_AUDIT_TERMS_MAX   4  /* words of a person search */

/* One kind of action asked for: an exact name, or a prefix ("invitation."). */
struct store_audit_action {
    const char *name;
    bool is_prefix;
};

/* What to read. */
struct store_audit_filter {
    const char *agency_id; /* required */
    const char *user_id;   /* entries where this user acted (also while viewing as someone) or
                              was acted upon; NULL: all */
    const struct store_audit_action *actions; /* any of these; action_count 0: every action */
    size_t action_count;
    /* LIKE patterns (lower case, wildcards escaped with '\', wrapped in '%'): each must match
     * the entry's personal values (names and addresses recorded at the time, through the
     * personal row's search column: values only, never its JSON keys or punctuation) or the
     * current name or address of an account the entry names. */
    const char *const *terms;
    size_t term_count;
    bool has_since, has_until;
    int64_t since_ms;   /* entries at or after this time */
    int64_t until_ms;   /* entries before this time */
    bool skip_requests; /* leave out "impersonation.request" entries */
    int64_t before_id;  /* only entries with a smaller id; 0: from the newest */
    size_t limit;       /* 1 .. STORE_PAGE_LIMIT_MAX */
};

/* An account as it reads now; every field NULL when the entry names no such account. */
struct store_audit_account {
    const char *email;
    const char *first_name;
    const char *last_name;
};

/* One listed entry with what the reader needs to put it in words. */
struct store_audit_row {
    struct store_audit_entry entry;                          /* chain fields left NULL */
    struct store_audit_account actor, subject, impersonator; /* current accounts */
    const char *scope_name_now; /* the scope's current name; NULL when it is gone or none */
    /* The details (JSON text) of the scope's newest "created" or "renamed" entry up to this
     * one: its "name" is the name the place had then. NULL when none is left. */
    const char *scope_named_details;
};

/* Lists up to f->limit entries matching f, newest (highest id) first, with their ids, each
 * with its personal data (personal_data, personal_erased_at), its view_session and whether the
 * accounts it names were erased (is_actor_gone, ...). *out is an arena array of *count rows;
 * *has_more tells whether older matching rows follow. */
int store_audit_list(struct store_audit_row **out, size_t *count, bool *has_more,
                     struct store_conn *c, struct arena *a, const struct store_audit_filter *f,
                     struct usher_error *err);

/* One request made while viewing as someone. */
struct store_audit_request {
    int64_t id;
    int64_t at;
    const char *details_json;
};

/* The "impersonation.request" entries that belong to the "view as" session started by entry
 * started (an "impersonation.started" entry of agency_id, with view_session as listed): made
 * by its subject with its impersonator after it, and filed under the same view_session; for a
 * start recorded without one (before migration 0021), made before that impersonator's next
 * start or end. Up to max of them, oldest first, in *out (*count rows); *total counts all of
 * them. */
int store_audit_requests_list(struct store_audit_request **out, size_t *count, int64_t *total,
                              struct store_conn *c, struct arena *a, const char *agency_id,
                              const struct store_audit_entry *started, size_t max,
                              struct usher_error *err);

#endif

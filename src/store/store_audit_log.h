/* Reading the audit log (written by store_audit.h): an agency's entries, newest first, with
 * keyset pagination on the row id. Nothing here updates or deletes a row. Strings live in the
 * arena; errors are those of store.h. */
#ifndef USHER_STORE_STORE_AUDIT_LOG_H
#define USHER_STORE_STORE_AUDIT_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "store/store_audit.h"

/* What to read. */
struct store_audit_filter {
    const char *agency_id; /* required */
    const char *user_id;   /* entries where this user acted (also while viewing as someone) or
                              was acted upon; NULL: all */
    const char *action;    /* NULL: every action */
    bool is_action_prefix; /* action is a prefix ("invitation.") rather than an exact name */
    int64_t before_id;     /* only entries with a smaller id; 0: from the newest */
    size_t limit;          /* 1 .. STORE_PAGE_LIMIT_MAX */
};

/* Lists up to f->limit entries matching f, newest (highest id) first, with their ids (the
 * chain fields are left NULL), each with its personal data (personal_data, personal_erased_at)
 * and whether the accounts it names were erased (is_actor_gone, ...). *out is an arena array
 * of *count rows; *has_more tells whether older matching rows follow. */
int store_audit_list(struct store_audit_entry **out, size_t *count, bool *has_more,
                     struct store_conn *c, struct arena *a, const struct store_audit_filter *f,
                     struct usher_error *err);

#endif

/* Invitation rows (see sql/<dialect>/0003_invitations.sql). Status changes are conditional
 * updates on status = 'pending', so of two concurrent accepts exactly one changes the row. */
#ifndef USHER_STORE_STORE_INVITATION_H
#define USHER_STORE_STORE_INVITATION_H

#include "store/store.h"

struct store_invitation {
    const char *id;
    const char *agency_id;
    const char *email;
    const char *first_name; /* NULL when not given */
    const char *last_name;
    const char *shortcode;
    const char *grants_json; /* JSON array of grants */
    const char *status;      /* pending | accepted | declined | revoked | expired */
    const char *token_nonce;
    const char *token_hash;
    int64_t generation;
    const char *sign_in; /* password | oauth */
    const char *oauth_subject;
    const char *authority; /* users.invite or bot.delegate */
    const char *created_by;
    int64_t created_at;
    int64_t expires_in_seconds;
    int64_t expires_at;
    int64_t last_sent_at; /* 0 when never sent */
    int64_t send_count;
    int64_t decided_at; /* 0 while pending */
    const char *decided_by;
};

/* Inserts a new pending invitation. USHER_ECONFLICT when the agency already has a pending
 * invitation for the email. */
int store_invitation_insert(struct store_conn *c, struct arena *a,
                            const struct store_invitation *inv, struct usher_error *err);

/* One invitation by id; USHER_ENOTFOUND when absent. */
int store_invitation_get(struct store_invitation *out, struct store_conn *c, struct arena *a,
                         const char *id, struct usher_error *err);

/* One invitation by the keyed hash of its current token; USHER_ENOTFOUND when absent. */
int store_invitation_by_token_hash(struct store_invitation *out, struct store_conn *c,
                                   struct arena *a, const char *token_hash,
                                   struct usher_error *err);

/* Invitations of an agency, newest first, optionally with one status; keyset pagination on
 * (created_at, id) below the given cursor values (before_at <= 0 for the first page). */
int store_invitation_list(struct store_invitation **out, size_t *count, struct store_conn *c,
                          struct arena *a, const char *agency_id, const char *status,
                          int64_t before_at, const char *before_id, int limit,
                          struct usher_error *err);

/* Pending, unexpired invitations addressed to email, across agencies, newest first. */
int store_invitation_pending_for_email(struct store_invitation **out, size_t *count,
                                       struct store_conn *c, struct arena *a, const char *email,
                                       int64_t now, struct usher_error *err);

/* Pending invitations of agency_id whose grants name bot_id, newest first. */
int store_invitation_pending_for_bot(struct store_invitation **out, size_t *count,
                                     struct store_conn *c, struct arena *a, const char *agency_id,
                                     const char *bot_id, struct usher_error *err);

/* Every pending invitation of agency_id, oldest first. */
int store_invitation_pending_in_agency(struct store_invitation **out, size_t *count,
                                       struct store_conn *c, struct arena *a, const char *agency_id,
                                       struct usher_error *err);

/* Moves a pending invitation to status (accepted, declined, revoked, expired). *changed tells
 * whether this call did it (false: it was no longer pending). */
int store_invitation_decide(bool *changed, struct store_conn *c, struct arena *a, const char *id,
                            const char *status, const char *decided_by, int64_t now,
                            struct usher_error *err);

/* Gives a pending or expired invitation a new token (nonce, hash, generation + 1) and a new
 * expiry, makes it pending, and counts a send. *changed is false when it was accepted,
 * declined or revoked. USHER_ECONFLICT when an expired one would be a second pending
 * invitation for its address in the agency. */
int store_invitation_rotate(bool *changed, struct store_conn *c, struct arena *a, const char *id,
                            const char *nonce, const char *token_hash, int64_t expires_at,
                            int64_t now, struct usher_error *err);

/* Emails queued in the last window: to recipient (any agency), and invitation sends (created
 * or resent) by actor_id and in agency_id, counted from the outbox and the audit log. */
int store_invitation_send_counts(int64_t *out_recipient, int64_t *out_actor, int64_t *out_agency,
                                 struct store_conn *c, struct arena *a, const char *recipient,
                                 const char *actor_id, const char *agency_id, int64_t since,
                                 struct usher_error *err);

/* Marks pending invitations past their expiry as expired, for one agency and email (before a
 * new invitation to the same address) or for all when agency_id is NULL. */
int store_invitation_expire_due(struct store_conn *c, struct arena *a, const char *agency_id,
                                const char *email, int64_t now, struct usher_error *err);

#endif

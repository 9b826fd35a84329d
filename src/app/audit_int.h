/* What the audit files share (audit.c, audit_verify.c, audit_retention.c,
 * audit_checkpoint.c): the MACs of heads and registry, appending to a named chain, the
 * checkpoint signing key, and verification inside a caller's read transaction. */
#ifndef USHER_APP_AUDIT_INT_H
#define USHER_APP_AUDIT_INT_H

#include <stdbool.h>

#include "app/audit.h"
#include "store/store_audit.h"

/* The registry's MAC as migration 0007 leaves it, before usher has signed it. */
#define APP_AUDIT_UNSEALED "unsealed"
/* Written in place of a MAC when the head or registry being extended did not hold: usher never
 * signs a state someone else wrote. */
#define APP_AUDIT_INVALID "invalid"

#define APP_AUDIT_PRUNED      "audit.pruned"
#define APP_AUDIT_SEALED      "audit.sealed"
#define APP_AUDIT_REFORMATTED "audit.reformatted"

#define APP_AUDIT_SIGNATURE_BYTES  64
#define APP_AUDIT_PUBLIC_KEY_BYTES 32

/* The MAC of a head over every field but mac, as hex. */
void app_audit_head_mac(char out[CRYPTO_HASH_HEX + 1], const struct store_audit_head *h);

/* The MAC of the registry over every field but mac, as hex. */
void app_audit_registry_mac(char out[CRYPTO_HASH_HEX + 1], const struct store_audit_registry *r);

/* Whether h->mac (r->mac) is the MAC of its other fields. */
bool app_audit_head_is_signed(const struct store_audit_head *h);
bool app_audit_registry_is_signed(const struct store_audit_registry *r);

/* Appends e (every field but id, prev_hash and hash set) to the chain e->chain inside the
 * caller's write transaction, moving its head and the registry. */
int app_audit_append(struct store_conn *c, struct arena *a, struct store_audit_entry *e,
                     struct usher_error *err);

/* The agency id of "agency:<id>", or NULL for any other chain; arena-owned. */
const char *app_audit_chain_agency(struct arena *a, const char *chain);

/* The checkpoint key pair's public half, and a detached signature of msg under its secret
 * half. The pair is derived from the server secret, so every instance sharing the secret signs
 * with the same key. */
void app_audit_public_key(unsigned char out[APP_AUDIT_PUBLIC_KEY_BYTES]);
void app_audit_sign(unsigned char out[APP_AUDIT_SIGNATURE_BYTES], const unsigned char *msg,
                    size_t len);

/* Whether a chain whose first entry links to a hash (rather than "") lost its oldest entries
 * to retention: its newest "audit.pruned" entry (the first entry itself, when retention took
 * every other) must name that hash, and an earlier id. That entry's own hash is the caller's
 * to check. */
int app_audit_start_is_recorded(bool *out, struct store_conn *c, struct arena *a, const char *chain,
                                const struct store_audit_entry *first, struct usher_error *err);

/* Why entry e's personal data does not hold, or NULL: for format 2, a row must exist exactly
 * when the entry has a digest, and its data must match the digest unless the row was erased
 * (data NULL and erased_at set). e's hash is the caller's to check. */
const char *app_audit_personal_fault(const struct store_audit_entry *e);

/* app_audit_verify inside the caller's (read) transaction on c. */
int app_audit_verify_in_tx(struct app_audit_verdict *out, struct store_conn *c, struct arena *a,
                           struct usher_error *err);

#endif

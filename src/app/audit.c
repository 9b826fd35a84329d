/* Audit recording. Entries form one hash chain per agency (and one for platform-level events):
 * each holds the previous entry's hash and an HMAC under the server secret over its own fields
 * and that hash. Each chain's head and the registry of all chains carry a MAC under a key
 * derived from the secret, so without it nobody can move a head back, drop a chain, or make
 * the heads agree with a log they cut short. */
#include "app/audit.h"

#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "app/audit_int.h"
#include "base/clock.h"
#include "base/json.h"
#include "base/log.h"
#include "store/store_audit.h"

#define AUDIT_KDF_CONTEXT  "usheraud"
#define AUDIT_KDF_HEADS    1
#define AUDIT_KDF_SIGN     2
#define AUDIT_KDF_PERSONAL 3

/* What the hash input of a format-2 entry starts with, so it can never be read as format 1. */
#define AUDIT_ENTRY_FORMAT_2 "usher-audit-entry-2"

static unsigned char entry_key[CRYPTO_SECRET_BYTES];
static size_t entry_key_len;
static unsigned char head_key[crypto_auth_hmacsha256_KEYBYTES];
static unsigned char sign_pk[crypto_sign_PUBLICKEYBYTES];
static unsigned char sign_sk[crypto_sign_SECRETKEYBYTES];
static unsigned char personal_key[crypto_generichash_KEYBYTES];

void app_audit_key_set(const unsigned char *key, size_t len)
{
    if (len > sizeof(entry_key))
        len = sizeof(entry_key);
    memcpy(entry_key, key, len);
    entry_key_len = len;
    /* The entries' HMAC keeps the secret itself as its key (existing hashes depend on it);
     * the heads' MAC and the checkpoint signatures use subkeys, each for one purpose. */
    unsigned char master[crypto_kdf_KEYBYTES];
    crypto_generichash(master, sizeof(master), key, len, NULL, 0);
    crypto_kdf_derive_from_key(head_key, sizeof(head_key), AUDIT_KDF_HEADS, AUDIT_KDF_CONTEXT,
                               master);
    unsigned char seed[crypto_sign_SEEDBYTES];
    crypto_kdf_derive_from_key(seed, sizeof(seed), AUDIT_KDF_SIGN, AUDIT_KDF_CONTEXT, master);
    crypto_sign_seed_keypair(sign_pk, sign_sk, seed);
    crypto_kdf_derive_from_key(personal_key, sizeof(personal_key), AUDIT_KDF_PERSONAL,
                               AUDIT_KDF_CONTEXT, master);
    sodium_memzero(seed, sizeof(seed));
    sodium_memzero(master, sizeof(master));
}

void app_audit_public_key(unsigned char out[APP_AUDIT_PUBLIC_KEY_BYTES])
{
    memcpy(out, sign_pk, APP_AUDIT_PUBLIC_KEY_BYTES);
}

void app_audit_sign(unsigned char out[APP_AUDIT_SIGNATURE_BYTES], const unsigned char *msg,
                    size_t len)
{
    crypto_sign_detached(out, NULL, msg, len, sign_sk);
}

void app_audit_personal_digest(char out[CRYPTO_HASH_HEX + 1], const char *data)
{
    unsigned char digest[32];
    crypto_generichash(digest, sizeof(digest), (const unsigned char *)data, strlen(data),
                       personal_key, sizeof(personal_key));
    sodium_bin2hex(out, CRYPTO_HASH_HEX + 1, digest, sizeof(digest));
}

void app_audit_entry_hash(char out[CRYPTO_HASH_HEX + 1], const struct store_audit_entry *e)
{
    /* A JSON array is an unambiguous encoding of the fields, NULLs included. Format 1 (entries
     * written before migration 0016, until converted) keeps its original shape; format 2 leads
     * with its name and covers the personal data only through its digest. */
    json_t *fields =
        e->format == 1
            ? json_pack("[s?, I, s?, s?, s?, s?, s?, s?, s?, s?, s?, s?, s?, s?]", e->chain,
                        (json_int_t)e->at, e->agency_id, e->actor_id, e->impersonator_id, e->action,
                        e->subject_user_id, e->scope_type, e->scope_id, e->source_ip, e->user_agent,
                        e->request_id, e->details_json, e->prev_hash)
            : json_pack("[s, I, s?, I, s?, s?, s?, s?, s?, s?, s?, s?, s?, s?, s?, s?, s?]",
                        AUDIT_ENTRY_FORMAT_2, (json_int_t)e->format, e->chain, (json_int_t)e->at,
                        e->agency_id, e->actor_id, e->impersonator_id, e->action,
                        e->subject_user_id, e->scope_type, e->scope_id, e->source_ip, e->user_agent,
                        e->request_id, e->details_json, e->personal_digest, e->prev_hash);
    char *text = json_dump_compact(fields);
    json_decref(fields);
    crypto_hmac_hex(out, entry_key, entry_key_len, text ? text : "", text ? strlen(text) : 0);
    free(text);
}

static bool ends_with(const char *s, const char *end)
{
    size_t n = strlen(s), m = strlen(end);
    return n > m && strcmp(s + n - m, end) == 0;
}

/* A key app_audit_record adds for the people an entry names ("actor_email", ...). */
static bool is_recorded_person_key(const char *key)
{
    return strncmp(key, "actor_", 6) == 0 || strncmp(key, "subject_", 8) == 0 ||
           strncmp(key, "impersonator_", 13) == 0;
}

bool app_audit_personal_key(const char *key)
{
    return strcmp(key, "email") == 0 || strcmp(key, "first_name") == 0 ||
           strcmp(key, "last_name") == 0 || ends_with(key, "_email") ||
           ends_with(key, "_first_name") || ends_with(key, "_last_name");
}

/* The string values of personal, in order, lower-cased (ASCII letters, as search words are)
 * and joined by spaces: what a person search matches. Migration 0021 computes the same for the
 * rows written before it. */
static const char *personal_search(struct arena *a, json_t *personal)
{
    size_t len = 0;
    const char *key;
    json_t *value;
    json_object_foreach(personal, key, value)
    {
        if (json_is_string(value))
            len += json_string_length(value) + 1;
    }
    char *out = arena_alloc(a, len + 1);
    size_t k = 0;
    json_object_foreach(personal, key, value)
    {
        if (!json_is_string(value))
            continue;
        if (k > 0)
            out[k++] = ' ';
        const char *v = json_string_value(value);
        for (size_t i = 0, n = json_string_length(value); i < n; i++)
            out[k++] = v[i] >= 'A' && v[i] <= 'Z' ? (char)(v[i] - 'A' + 'a') : v[i];
    }
    out[k] = '\0';
    return out;
}

void app_audit_personal_split(struct store_audit_entry *e, struct arena *a, json_t *details)
{
    json_t *personal = json_object();
    const char *key;
    json_t *value;
    void *tmp;
    json_object_foreach_safe(details, tmp, key, value)
    {
        if (!app_audit_personal_key(key))
            continue;
        json_object_set(personal, key, value);
        json_object_del(details, key);
    }
    e->personal_data = NULL;
    e->personal_email = NULL;
    e->personal_digest = NULL;
    e->personal_search = NULL;
    if (json_object_size(personal) > 0) {
        /* The address the entry concerns: "email", else the first "..._email" other than
         * those recorded for the people the entry names. */
        json_t *email = json_object_get(personal, "email");
        json_object_foreach(personal, key, value)
        {
            if (!json_is_string(email) && json_is_string(value) && ends_with(key, "_email") &&
                !is_recorded_person_key(key))
                email = value;
        }
        if (json_is_string(email))
            e->personal_email = arena_strdup(a, json_string_value(email));
        char *text = json_dump_compact(personal);
        e->personal_data = arena_strdup(a, text ? text : "{}");
        free(text);
        e->personal_search = personal_search(a, personal);
        char digest[CRYPTO_HASH_HEX + 1];
        app_audit_personal_digest(digest, e->personal_data);
        e->personal_digest = arena_strdup(a, digest);
    }
    json_decref(personal);
}

/* The heads' and registry's MACs take their fields length-prefixed, straight into the HMAC:
 * as unambiguous as JSON and cheaper, since one runs for every entry written. */
static void mac_text(crypto_auth_hmacsha256_state *st, const char *s)
{
    uint64_t len = s ? (uint64_t)strlen(s) : UINT64_MAX;
    unsigned char prefix[9] = {'s'};
    for (int i = 0; i < 8; i++)
        prefix[1 + i] = (unsigned char)(len >> (8 * i));
    crypto_auth_hmacsha256_update(st, prefix, sizeof(prefix));
    if (s)
        crypto_auth_hmacsha256_update(st, (const unsigned char *)s, strlen(s));
}

static void mac_int(crypto_auth_hmacsha256_state *st, int64_t v)
{
    unsigned char bytes[9] = {'i'};
    for (int i = 0; i < 8; i++)
        bytes[1 + i] = (unsigned char)((uint64_t)v >> (8 * i));
    crypto_auth_hmacsha256_update(st, bytes, sizeof(bytes));
}

static void mac_final(char out[CRYPTO_HASH_HEX + 1], crypto_auth_hmacsha256_state *st)
{
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_final(st, mac);
    sodium_bin2hex(out, CRYPTO_HASH_HEX + 1, mac, sizeof(mac));
}

void app_audit_head_mac(char out[CRYPTO_HASH_HEX + 1], const struct store_audit_head *h)
{
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, head_key, sizeof(head_key));
    mac_text(&st, "usher-audit-head-1");
    mac_text(&st, h->chain);
    mac_int(&st, h->ordinal);
    mac_text(&st, h->prev_chain);
    mac_int(&st, h->entries);
    mac_int(&st, h->seq);
    mac_int(&st, h->last_id);
    mac_text(&st, h->last_hash);
    mac_final(out, &st);
}

void app_audit_registry_mac(char out[CRYPTO_HASH_HEX + 1], const struct store_audit_registry *r)
{
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, head_key, sizeof(head_key));
    mac_text(&st, "usher-audit-registry-1");
    mac_int(&st, r->chains);
    mac_int(&st, r->entries);
    mac_text(&st, r->last_chain);
    mac_final(out, &st);
}

bool app_audit_head_is_signed(const struct store_audit_head *h)
{
    char expect[CRYPTO_HASH_HEX + 1];
    app_audit_head_mac(expect, h);
    return h->mac && crypto_str_equal(h->mac, expect);
}

bool app_audit_registry_is_signed(const struct store_audit_registry *r)
{
    char expect[CRYPTO_HASH_HEX + 1];
    app_audit_registry_mac(expect, r);
    return r->mac && crypto_str_equal(r->mac, expect);
}

const char *app_audit_chain_agency(struct arena *a, const char *chain)
{
    static const char prefix[] = "agency:";
    if (!chain || strncmp(chain, prefix, sizeof(prefix) - 1) != 0)
        return NULL;
    return arena_strdup(a, chain + sizeof(prefix) - 1);
}

int app_audit_append(struct store_conn *c, struct arena *a, struct store_audit_entry *e,
                     struct usher_error *err)
{
    struct store_audit_head head;
    struct store_audit_registry reg;
    bool has_head = false, has_reg = false;
    int rc = store_audit_tip_get(&reg, &has_reg, &head, &has_head, c, a, e->chain, err);
    if (rc)
        return rc;
    /* Checked before extending: signing the next state of a head someone rewrote would make
     * their change look like ours. */
    bool head_ok = !has_head || app_audit_head_is_signed(&head);
    bool reg_ok = has_reg && app_audit_registry_is_signed(&reg);
    e->prev_hash = has_head ? head.last_hash : "";
    if (e->format == 0)
        e->format = 2;
    char hash[CRYPTO_HASH_HEX + 1];
    app_audit_entry_hash(hash, e);
    e->hash = arena_strdup(a, hash);
    rc = store_audit_insert(c, a, e, err);
    if (rc)
        return rc;
    if (!has_head) {
        head.chain = e->chain;
        head.ordinal = reg.chains + 1;
        head.prev_chain = reg.last_chain ? reg.last_chain : "";
        head.entries = 0;
        reg.chains++;
        reg.last_chain = e->chain;
    }
    reg.entries++;
    head.entries++;
    head.seq = reg.entries;
    head.last_id = e->id;
    head.last_hash = e->hash;
    char head_mac[CRYPTO_HASH_HEX + 1], reg_mac[CRYPTO_HASH_HEX + 1];
    app_audit_head_mac(head_mac, &head);
    app_audit_registry_mac(reg_mac, &reg);
    head.mac = head_ok ? head_mac : APP_AUDIT_INVALID;
    if (!reg_ok)
        reg.mac = has_reg && strcmp(reg.mac, APP_AUDIT_UNSEALED) == 0 ? APP_AUDIT_UNSEALED
                                                                      : APP_AUDIT_INVALID;
    else
        reg.mac = reg_mac;
    rc = store_audit_head_put(c, a, &head, err);
    if (rc)
        return rc;
    return has_reg ? store_audit_registry_put(c, a, &reg, err) : 0;
}

/* Adds the name and address p read for an account to details under role ("actor" gives
 * actor_email, actor_first_name, actor_last_name): personal values, so they go to the entry's
 * personal row, outlive the person's membership and a change of name, and go with an erasure.
 * An account that is not there (erased in this transaction) adds nothing. */
static void person_add(json_t *details, struct arena *a, const char *role,
                       const struct store_audit_person *p)
{
    if (!p->id)
        return;
    json_object_set_new(details, arena_printf(a, "%s_email", role), json_string(p->email));
    if (p->first_name && *p->first_name)
        json_object_set_new(details, arena_printf(a, "%s_first_name", role),
                            json_string(p->first_name));
    if (p->last_name && *p->last_name)
        json_object_set_new(details, arena_printf(a, "%s_last_name", role),
                            json_string(p->last_name));
}

/* The people an entry names, recorded into details as they are at the time of writing: the
 * actor, the impersonator and the subject, each once, read in one statement. */
static int people_add(json_t *details, struct store_conn *c, struct arena *a,
                      const struct app_actor *actor, const struct app_audit_event *ev,
                      struct usher_error *err)
{
    static const char *const roles[] = {"actor", "impersonator", "subject"};
    const char *actor_id = actor ? actor->user_id : NULL;
    const char *impersonator_id = actor ? actor->impersonator_id : NULL;
    const char *subject_id = ev->subject_user_id;
    const char *ids[STORE_AUDIT_PEOPLE_MAX] = {actor_id, NULL, NULL};
    if (impersonator_id && (!actor_id || strcmp(impersonator_id, actor_id) != 0))
        ids[1] = impersonator_id;
    if (subject_id && (!actor_id || strcmp(subject_id, actor_id) != 0))
        ids[2] = subject_id;
    struct store_audit_person people[STORE_AUDIT_PEOPLE_MAX];
    int rc = store_audit_people_get(people, c, a, ids, STORE_AUDIT_PEOPLE_MAX, err);
    if (rc)
        goto done;
    for (size_t i = 0; i < STORE_AUDIT_PEOPLE_MAX; i++)
        person_add(details, a, roles[i], &people[i]);
done:
    return rc;
}

/* The view-as session an "impersonation.*" entry belongs to: its details' "session_id". */
static const char *view_session(struct arena *a, const char *action, json_t *details)
{
    static const char prefix[] = "impersonation.";
    if (strncmp(action, prefix, sizeof(prefix) - 1) != 0)
        return NULL;
    const char *id = json_string_value(json_object_get(details, "session_id"));
    return id && *id ? arena_strdup(a, id) : NULL;
}

int app_audit_record(struct store_conn *c, struct arena *a, const struct app_actor *actor,
                     const struct app_audit_event *ev, struct usher_error *err)
{
    struct store_audit_entry e = {
        .at = clock_now_ms(),
        .agency_id = ev->agency_id,
        .actor_id = actor ? actor->user_id : NULL,
        .impersonator_id = actor ? actor->impersonator_id : NULL,
        .action = ev->action,
        .subject_user_id = ev->subject_user_id,
        .scope_type = ev->scope_type,
        .scope_id = ev->scope_id,
        .source_ip = actor ? actor->source_ip : NULL,
        .user_agent = actor ? actor->user_agent : NULL,
        .request_id = actor ? actor->request_id : NULL,
        .details_json = "{}",
        .chain = ev->agency_id ? arena_printf(a, "agency:%s", ev->agency_id) : "platform",
        .format = 2,
    };
    json_t *details = ev->details ? ev->details : json_object();
    /* Without the caller's transaction, the chain's head is read and moved under the write lock
     * in one of its own. */
    bool own = !store_in_transaction(c);
    int rc = own ? store_begin(c, true, err) : 0;
    if (rc)
        goto done;
    rc = people_add(details, c, a, actor, ev, err);
    if (rc)
        goto done;
    /* Email addresses and names go to the entry's personal row, which erasure can blank. */
    app_audit_personal_split(&e, a, details);
    e.view_session = view_session(a, e.action, details);
    char *text = json_dump_compact(details);
    if (text)
        e.details_json = arena_strdup(a, text);
    free(text);
    rc = app_audit_append(c, a, &e, err);
    if (rc)
        goto done;
    if (own)
        rc = store_commit(c, err);
done:
    json_decref(details);
    if (rc && own)
        store_rollback(c);
    return rc;
}

/* Why the log may not be sealed now, or NULL. Only entries are proof here: everything else in
 * the database can be rewritten by whoever could reset the registry. */
static int seal_refusal(const char **out, struct store_conn *c, struct arena *a, size_t heads,
                        struct usher_error *err)
{
    bool sealed_before = false;
    int64_t entries = 0, people = 0;
    *out = NULL;
    int rc = store_audit_action_exists(&sealed_before, c, a, APP_AUDIT_SEALED, NULL, err);
    if (rc)
        return rc;
    if (!sealed_before) {
        rc = store_audit_action_exists(&sealed_before, c, a, APP_AUDIT_PRUNED, "%\"through_hash\"%",
                                       err);
        if (rc)
            return rc;
    }
    rc = store_audit_population(&entries, &people, c, a, err);
    if (rc)
        return rc;
    if (sealed_before)
        *out = "the log holds entries written after an earlier sealing: its registry was reset";
    else if (heads == 0 && entries == 0 && people > 0)
        *out = "the log is empty but the database holds accounts or agencies: it was deleted";
    return 0;
}

/* Signs the heads as they are, in the order the chains began, and the registry with the
 * totals; *out_total gets the entries counted. */
static int seal_heads(int64_t *out_total, struct store_conn *c, struct arena *a,
                      const struct store_audit_legacy_head *old, size_t count,
                      struct usher_error *err)
{
    int64_t total = 0;
    int rc = 0;
    for (size_t i = 0; i < count; i++)
        total += old[i].rows;
    const char *prev = "";
    for (size_t i = 0; i < count; i++) {
        struct store_audit_head h = {
            .chain = old[i].chain,
            .ordinal = (int64_t)i + 1,
            .prev_chain = prev,
            .entries = old[i].rows,
            .seq = total,
            .last_id = old[i].last_id,
            .last_hash = old[i].last_hash,
        };
        char mac[CRYPTO_HASH_HEX + 1];
        app_audit_head_mac(mac, &h);
        h.mac = mac;
        rc = store_audit_head_put(c, a, &h, err);
        if (rc)
            goto done;
        prev = old[i].chain;
    }
    struct store_audit_registry sealed = {
        .chains = (int64_t)count, .entries = total, .last_chain = prev};
    char reg_mac[CRYPTO_HASH_HEX + 1];
    app_audit_registry_mac(reg_mac, &sealed);
    sealed.mac = reg_mac;
    rc = store_audit_registry_put(c, a, &sealed, err);
done:
    *out_total = total;
    return rc;
}

/* The entries a sealing leaves: an "audit.pruned" entry for each chain whose oldest entries an
 * earlier retention removed (naming the hash its first entry links to), and "audit.sealed". */
static int seal_records(struct store_conn *c, struct arena *a,
                        const struct store_audit_legacy_head *old, size_t count, int64_t total,
                        struct usher_error *err)
{
    for (size_t i = 0; i < count; i++) {
        if (old[i].rows == 0 || old[i].first_prev_hash[0] == '\0')
            continue;
        json_t *details = json_pack("{s:I, s:s, s:b}", "through_id", (json_int_t)0, "through_hash",
                                    old[i].first_prev_hash, "before_sealing", 1);
        char *text = json_dump_compact(details);
        json_decref(details);
        struct store_audit_entry e = {.at = clock_now_ms(),
                                      .agency_id = app_audit_chain_agency(a, old[i].chain),
                                      .action = APP_AUDIT_PRUNED,
                                      .details_json = arena_strdup(a, text),
                                      .chain = old[i].chain,
                                      .format = 1};
        free(text);
        int rc = app_audit_append(c, a, &e, err);
        if (rc)
            return rc;
    }
    if (count == 0)
        return 0;
    struct store_audit_entry e = {
        .at = clock_now_ms(),
        .action = APP_AUDIT_SEALED,
        .details_json =
            arena_printf(a, "{\"chains\":%zu,\"entries\":%lld}", count, (long long)total),
        .chain = "platform",
        .format = 1, /* the columns of format 2 come with migration 0016 */
    };
    return app_audit_append(c, a, &e, err);
}

/* Signs a log written before migration 0007 (or a fresh one), unless refused. A head that does
 * not match its chain stays evident to verification: sealing signs heads, not chains. */
static int seal(struct store_conn *c, struct arena *a, struct usher_error *err)
{
    struct store_audit_registry reg;
    bool has_reg = false;
    struct store_audit_legacy_head *old = NULL;
    size_t count = 0;
    int64_t total = 0;
    const char *refusal = NULL;
    int rc = store_audit_registry_get(&reg, &has_reg, c, a, err);
    if (rc || !has_reg || strcmp(reg.mac, APP_AUDIT_UNSEALED) != 0)
        return rc;
    rc = store_audit_legacy_heads(&old, &count, c, a, err);
    if (rc)
        return rc;
    rc = seal_refusal(&refusal, c, a, count, err);
    if (rc)
        return rc;
    if (refusal) {
        log_msg(LOG_ERROR, "audit.seal_refused", "{s:s}", "reason", refusal);
        return 0;
    }
    rc = seal_heads(&total, c, a, old, count, err);
    if (rc)
        return rc;
    rc = seal_records(c, a, old, count, total, err);
    if (rc)
        return rc;
    log_msg(LOG_INFO, "audit.sealed", "{s:I, s:I}", "chains", (json_int_t)count, "entries",
            (json_int_t)total);
    return 0;
}

static int migrated(void *ctx, struct store_conn *c, const char *name, struct usher_error *err)
{
    (void)ctx;
    if (strcmp(name, "0007_audit_heads.sql") != 0)
        return 0;
    struct arena a;
    arena_init(&a);
    int rc = seal(c, &a, err);
    arena_dispose(&a);
    return rc;
}

const struct store_migrate_hook app_audit_migrate_hook = {migrated, NULL};

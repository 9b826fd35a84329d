/* Password strength with zxcvbn's C port: the person's email and names become a dictionary of
 * their own, the estimate in bits becomes log10(guesses), and the kinds of matches that cover
 * the password become the reason given to the person. */
#include "app/password_strength.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <zxcvbn.h>

#include "app/password.h"
#include "base/arena.h"
#include "base/error.h"

#define WORDS_MAX     32 /* user-dictionary entries, the NULL end included */
#define WORD_MIN_LEN  3  /* shorter pieces ("io", "co") would match inside any password */
#define INPUT_MAX_LEN 1024
/* A shorter match (a "1" read as leet for "l") is told as added characters. */
#define PART_MIN_LEN 3

/* The kinds of patterns the reason speaks of, in the order they are preferred when they cover
 * the same number of characters. */
enum kind { KIND_WORD, KIND_KEYBOARD, KIND_SEQUENCE, KIND_REPEAT, KIND_DATE, KIND_COUNT };

struct words {
    const char *list[WORDS_MAX];
    size_t count;
    char *storage; /* every entry points into it */
    size_t used, size;
};

/* Adds text[0..len) as a word when it is long enough and the list has room. */
static void words_add(struct words *w, const char *text, size_t len)
{
    if (len < WORD_MIN_LEN || w->count + 1 >= WORDS_MAX || w->used + len + 1 > w->size)
        return;
    char *copy = w->storage + w->used;
    memcpy(copy, text, len);
    copy[len] = '\0';
    w->used += len + 1;
    w->list[w->count++] = copy;
}

/* Adds text whole, then each of its pieces between separators. */
static void words_add_split(struct words *w, const char *text, size_t len, const char *separators)
{
    words_add(w, text, len);
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || strchr(separators, text[i])) {
            if (i - start < len)
                words_add(w, text + start, i - start);
            start = i + 1;
        }
    }
}

static size_t input_len(const char *s)
{
    size_t len = s ? strlen(s) : 0;
    return len < INPUT_MAX_LEN ? len : INPUT_MAX_LEN;
}

/* The user dictionary: the email, its local part and that part's pieces, the domain's labels,
 * and each name with its pieces. w->list ends with NULL; w->storage is the caller's to free. */
static void words_build(struct words *w, const struct app_password_inputs *in)
{
    memset(w, 0, sizeof(*w));
    const char *email = in ? in->email : NULL;
    const char *first = in ? in->first_name : NULL;
    const char *last = in ? in->last_name : NULL;
    size_t elen = input_len(email), flen = input_len(first), llen = input_len(last);
    /* The email is copied at most three times (whole, its parts, their pieces), a name twice
     * (whole, its pieces), each copy with a NUL. */
    w->size = 4 * (elen + flen + llen) + WORDS_MAX;
    w->storage = xmalloc(w->size);
    if (elen > 0) {
        words_add(w, email, elen);
        const char *at = memchr(email, '@', elen);
        size_t local_len = at ? (size_t)(at - email) : elen;
        words_add_split(w, email, local_len, "._+-");
        if (at)
            words_add_split(w, at + 1, elen - local_len - 1, ".");
    }
    if (flen > 0)
        words_add_split(w, first, flen, " -'");
    if (llen > 0)
        words_add_split(w, last, llen, " -'");
    w->list[w->count] = NULL;
}

static bool is_personal(int type)
{
    return type == USER_MATCH || type == USER_LEET_MATCH;
}

/* The kind of a match, or KIND_COUNT for characters that follow no pattern. */
static enum kind kind_of(const ZxcMatch_t *m)
{
    int type = (int)m->Type;
    if (m->Length < PART_MIN_LEN)
        return KIND_COUNT;
    if (type & MULTIPLE_MATCH)
        return KIND_REPEAT;
    switch (type) {
    case DICTIONARY_MATCH:
    case DICT_LEET_MATCH:
        return KIND_WORD;
    case SPATIAL_MATCH:
        return KIND_KEYBOARD;
    case SEQUENCE_MATCH:
        return KIND_SEQUENCE;
    case REPEATS_MATCH:
        return KIND_REPEAT;
    case DATE_MATCH:
    case YEAR_MATCH:
        return KIND_DATE;
    default:
        return KIND_COUNT;
    }
}

/* Whether every byte of password outside the matches of kind k is a digit. */
static bool rest_is_digits(const ZxcMatch_t *info, const char *password, size_t len, enum kind k)
{
    for (size_t i = 0; i < len; i++) {
        bool covered = false;
        for (const ZxcMatch_t *m = info; m && !covered; m = m->Next)
            covered = kind_of(m) == k && (size_t)m->Begin <= i &&
                      i < (size_t)m->Begin + (size_t)m->Length;
        if (!covered && (password[i] < '0' || password[i] > '9'))
            return false;
    }
    return true;
}

/* Why a weak password is weak, from the matches the estimate was made of. */
static const char *reason_of(const ZxcMatch_t *info, const char *password)
{
    size_t covered[KIND_COUNT] = {0};
    size_t word_count = 0;
    for (const ZxcMatch_t *m = info; m; m = m->Next) {
        if (is_personal((int)m->Type & ~MULTIPLE_MATCH))
            return "it contains your name or email address";
        enum kind k = kind_of(m);
        if (k == KIND_COUNT)
            continue;
        covered[k] += (size_t)m->Length;
        word_count += k == KIND_WORD;
    }
    enum kind top = KIND_COUNT;
    for (int k = 0; k < KIND_COUNT; k++) {
        if (covered[k] > 0 && (top == KIND_COUNT || covered[k] > covered[top]))
            top = (enum kind)k;
    }
    if (top == KIND_COUNT)
        return "it is too short for the kinds of characters it uses";
    size_t len = strlen(password);
    bool whole = covered[top] >= len;
    bool digits = !whole && rest_is_digits(info, password, len, top);
    static const char *const alone[KIND_COUNT] = {
        "it is a common word or password",
        "it is a keyboard pattern",
        "it is a sequence such as abcd or 1234",
        "it repeats characters or a short pattern",
        "it is a date or a year",
    };
    static const char *const with_number[KIND_COUNT] = {
        "it is a common word with a number added",
        "it is a keyboard pattern with a number added",
        "it is a sequence with a number added",
        "it repeats a pattern with a number added",
        "it is a date or a year with a number added",
    };
    static const char *const with_more[KIND_COUNT] = {
        "it is a common word with a few characters added",
        "it is a keyboard pattern with a few characters added",
        "it is a sequence with a few characters added",
        "it repeats a pattern with a few characters added",
        "it is a date or a year with a few characters added",
    };
    if (top == KIND_WORD && word_count > 1)
        return whole || digits ? "it is made of common words"
                               : "it is made of common words and a few characters";
    return whole ? alone[top] : digits ? with_number[top] : with_more[top];
}

void app_password_strength_estimate(struct app_password_strength *out, const char *password,
                                    const struct app_password_inputs *inputs)
{
    struct words w;
    words_build(&w, inputs);
    ZxcMatch_t *info = NULL;
    double bits = ZxcvbnMatch(password, w.list, &info);
    out->guesses_log10 = bits * log10(2.0);
    out->is_weak = out->guesses_log10 < APP_PASSWORD_GUESSES_LOG10_MIN;
    out->reason = out->is_weak ? reason_of(info, password) : "";
    ZxcvbnFreeInfo(info);
    free(w.storage);
}

int app_password_strength_check(const char *password, const char *field,
                                const struct app_password_inputs *inputs, struct usher_error *err)
{
    USHER_ASSERT(password && strlen(password) <= APP_PASSWORD_MAX_BYTES);
    struct app_password_strength s;
    app_password_strength_estimate(&s, password, inputs);
    if (!s.is_weak)
        return 0;
    return usher_error_set(err, USHER_EINVAL, "weak_password", field, "%s is too easy to guess: %s",
                           field, s.reason);
}

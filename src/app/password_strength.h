/* Password strength: how many guesses a password would take, estimated with zxcvbn (the C
 * port), and the rule that refuses the easy ones wherever a password is set.
 *
 * The estimate counts what attackers try first: common passwords and words, keyboard
 * patterns, sequences, repeats, dates, and the person's own name and email address. A
 * password is refused when the estimate is below 10^APP_PASSWORD_GUESSES_LOG10_MIN guesses.
 * Signing in never applies this rule: a password set before it existed keeps working. */
#ifndef USHER_APP_PASSWORD_STRENGTH_H
#define USHER_APP_PASSWORD_STRENGTH_H

#include <stdbool.h>

struct usher_error;

/* The least log10(guesses) accepted. 10^8 guesses is the line between zxcvbn's "somewhat
 * guessable" (score 2: safe only against throttled online guessing) and "safely
 * unguessable" (score 3: holds against offline guessing of a slow hash such as argon2id). */
#define APP_PASSWORD_GUESSES_LOG10_MIN 8.0

/* What the person setting a password is known by; each may be NULL or "". */
struct app_password_inputs {
    const char *email;
    const char *first_name;
    const char *last_name;
};

/* An estimate. reason is a static string saying why the password is easy to guess, starting
 * with "it " ("it is a keyboard pattern"), or "" when it is not weak. */
struct app_password_strength {
    double guesses_log10;
    bool is_weak;
    const char *reason;
};

/* Estimates password (NUL-terminated, at most APP_PASSWORD_MAX_BYTES) against the general
 * dictionaries and, as words of their own, the email address, its local part and domain
 * labels, and the names in inputs (may be NULL). Cannot fail. */
void app_password_strength_estimate(struct app_password_strength *out, const char *password,
                                    const struct app_password_inputs *inputs);

/* Refuses a weak password: USHER_EINVAL with problem "weak_password" naming field, and the
 * message "<field> is too easy to guess: <reason>". Call after app_password_check, and only
 * where a password is set (never at sign-in). */
int app_password_strength_check(const char *password, const char *field,
                                const struct app_password_inputs *inputs, struct usher_error *err);

#endif

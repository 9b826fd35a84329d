/* Bulk invitations: a CSV file of people to invite into an agency's environments, every row
 * checked before anything is sent, then each row sent through the single-invitation path
 * (app_invitation_create: authority, send limits and audit per row).
 *
 * The file (RFC 4180: comma-separated, "quoted" fields with "" for a quote, CRLF or LF) starts
 * with a header row naming its columns: email, environment and roles are required; first_name,
 * last_name, shortcode and expires_at may be left out. environment is an environment's name;
 * roles are role names (built-in "Environment manager" or environment_manager, custom by name or
 * id) separated by ';' or '|'. expires_at is when the row's grant ends: a date (YYYY-MM-DD, the
 * end of that day in UTC) or an RFC 3339 time; empty for no end of its own. Rows are numbered as
 * in a spreadsheet: the header is row 1.
 *
 * Each row's end, in this order: its own cell; else the request's default end; else none. The
 * sender's own right to invite (rule 4) caps it per row, at the row's environment and roles
 * (app_access_grant_until): a row's own end past it is a problem of the expires_at column (a date
 * on the very day the sender's right ends takes that end, as the console's date fields do);
 * the default end, or no end, past it becomes it. */
#ifndef USHER_APP_INVITATION_BULK_H
#define USHER_APP_INVITATION_BULK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app/app.h"
#include "app/invitation.h"

#define APP_BULK_ROWS_MAX  1000    /* people in one file */
#define APP_BULK_BYTES_MAX 1048576 /* bytes in one file */

/* One thing wrong with the file: row 0 means the file as a whole; column is NULL for a whole
 * row. Strings are arena-owned. */
struct app_bulk_problem {
    size_t row;
    const char *column;
    const char *message;
};

/* One person of the file, checked, and after sending, what became of them. */
struct app_bulk_row {
    size_t row;                   /* as in a spreadsheet: the first person is row 2 */
    const char *email;            /* as given, trimmed */
    const char *environment;      /* as given, trimmed */
    const char *roles;            /* as given, trimmed */
    const char *end_text;         /* expires_at as given, trimmed ("" when empty) */
    const char *environment_id;   /* resolved; NULL when it did not resolve */
    const char *environment_name; /* resolved: the environment's own name */
    int64_t end_asked;            /* the row's own end (ms); 0: its cell is empty or wrong */
    bool is_end_a_day;            /* end_asked came as a date: the end of that day in UTC */
    int64_t end;                  /* the end given to its grant (ms); 0: none */
    const char *end_source;       /* "row", "default" or "ceiling" (the sender's own end); NULL */
    struct app_invitation_new in; /* what will be asked of app_invitation_create */
    bool is_valid;
    const char *result;        /* after sending: "created", "refused" or "skipped"; else NULL */
    const char *invitation_id; /* created */
    const char *code;          /* refused: the problem code ("rate_limited", "conflict") */
    const char *message;       /* refused or skipped: why, for people */
};

/* A checked file. Arrays and strings are arena-owned; in.grants JSON is released by
 * app_invitation_bulk_dispose. */
struct app_bulk {
    struct app_bulk_row *rows;
    size_t row_count;
    size_t valid_count;
    struct app_bulk_problem *problems;
    size_t problem_count;
};

/* Releases the JSON held by b's rows; accepts a zeroed b. */
void app_invitation_bulk_dispose(struct app_bulk *b);

/* Reads and checks csv[0..len) for agency_id as the actor: the file's shape (header, quoting,
 * at most APP_BULK_ROWS_MAX rows and APP_BULK_BYTES_MAX bytes), then each row (email, names,
 * shortcode, environment by name among those where the actor may invite, roles by name, its
 * end, rule 4 over the grant in permissions and in time, no invitation of oneself, no member
 * already, no invitation to the agency still pending for the address, no address or shortcode
 * twice, no shortcode taken). Problems go into out->problems and rows are marked valid or not,
 * each with the end it gets: a file with problems is still answered 0. default_end (a date or
 * an RFC 3339 time as in the expires_at column, or NULL) is the end of rows without their own.
 * Errors: USHER_EINVAL naming expires_at (default_end unreadable, past or over five years
 * ahead), USHER_ENOTFOUND (agency not visible), USHER_EFORBIDDEN (a suspended agency),
 * USHER_ELIMIT "too_large" (over the bounds); store errors. Changes nothing. */
int app_invitation_bulk_check(struct app_bulk *out, const struct app_call *call,
                              const char *agency_id, const char *csv, size_t len,
                              const char *default_end);

/* Sends the invitations of a checked file, one app_invitation_create each, in file order:
 * every row when valid_only is false (the caller makes sure the file has no problems), else
 * the valid rows only (the others are "skipped"). Each row's result says created or refused
 * with the reason (send limits included). Returns 0, or a store error that stopped it. */
int app_invitation_bulk_send(struct app_bulk *b, const struct app_call *call, const char *agency_id,
                             bool valid_only);

/* The template file: a header row and two example rows, one without an end and one ending on
 * the last day of next year, with no cell a spreadsheet would read as a formula. Allocated in
 * a. */
const char *app_invitation_bulk_template(struct arena *a);

#endif

/* What the member files share (members.c, members_list.c, members_change.c): the caller's
 * standing in the agency, the context one call works with, and the loads and builds they all
 * use. */
#ifndef USHER_APP_MEMBERS_INT_H
#define USHER_APP_MEMBERS_INT_H

#include "app/access.h"
#include "app/members.h"

/* The caller's standing in one agency, with what the overview asks of it again and again. */
struct app_members_caller {
    struct app_access acc;
    bool reads_all;   /* platform admin, or users.read at agency scope */
    bool manages_any; /* users.manage at agency scope or in some environment */
    bool *reads_env;  /* per environment of the agency: users.read there */
    size_t readable_count;
};

/* What one member operation works with besides its call context: a connection inside a
 * transaction and the agency's facts. */
struct app_members_ctx {
    struct arena *a;
    struct store_conn *c;
    const char *agency_id;
    struct store_environment *envs;
    size_t env_count;
    struct app_role_set roles;
    struct app_members_caller caller;
};

/* USHER_EFORBIDDEN with the message what. */
int app_members_forbidden(struct usher_error *err, const char *what);

/* Opens a transaction (write or read) and loads the agency, the standing of call->actor, the
 * environments and the custom roles, all in call->arena. An agency the caller is not a member
 * of is not found (in call->err). */
int app_members_ctx_open(struct app_members_ctx *x, const struct app_call *call,
                         const char *agency_id, bool write);

/* Gives the connection back (a transaction still open is rolled back). */
void app_members_ctx_close(struct app_members_ctx *x);

/* The position of environment_id among the agency's environments, or -1. */
long app_members_env_index(const struct app_members_ctx *x, const char *environment_id);

/* Whether a person with these grants has access to the environment: rule 1, or a grant on
 * one of its bots. */
bool app_members_has_access(const struct app_grant_list *pg, const char *env_id);

/* Reads a member's grants in the agency. */
int app_members_grants_load(struct app_grant_list *out, struct app_members_ctx *x,
                            const char *user_id, struct usher_error *err);

/* The caller's authority over a member (app_access_may_act_on): at every scope the member
 * holds a grant, or only inside environment_id (which counts even where the member holds
 * nothing of their own there). */
int app_members_authority(const struct app_members_ctx *x, const char *user_id,
                          const struct app_grant_list *pg, const char *environment_id,
                          struct usher_error *err);

/* Fills out for person p with grants pg, keeping only what the caller may see. */
void app_members_build(struct app_member *out, const struct app_members_ctx *x,
                       const struct store_directory_person *p, const struct app_grant_list *pg);

/* Loads a member the caller may see (or manage, or is), with their grants. */
int app_members_load(struct store_directory_person *out_person, struct app_grant_list *out_grants,
                     struct app_members_ctx *x, const char *user_id, struct usher_error *err);

/* Reads the member as a change left it, inside the change's own transaction. */
int app_members_detail_reread(struct app_member_detail *out, struct app_members_ctx *x,
                              const char *user_id, struct usher_error *err);

#endif

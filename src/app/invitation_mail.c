/* The invitation email: who invites, to which agency, environments and bots, with which roles,
 * until when, whether to sign in or choose a password, and the link (a placeholder the sender
 * fills at send time). Roles are named in words, extra permissions by what they let one do,
 * and the expiry as a date people read. Names come from users, so the HTML part escapes them. */
#include <string.h>

#include "app/app_mail.h"
#include "app/invitation.h"
#include "app/invitation_int.h"
#include "base/clock.h"
#include "mail/mail.h"
#include "policy/catalogue.h"
#include "store/store_tenancy.h"
#include "store/store_user.h"

/* A role as people read it: a built-in role's words ("environment_manager" gives "Environment
 * manager"); a custom role, which the view names already, as named. */
static const char *role_words(struct arena *a, const char *role)
{
    if (!role || !policy_catalogue_role_find(role))
        return role ? role : "";
    char *words = arena_printf(a, "%s", role);
    for (char *p = words; *p; p++)
        if (*p == '_')
            *p = ' ';
    if (words[0] >= 'a' && words[0] <= 'z')
        words[0] = (char)(words[0] - 'a' + 'A');
    return words;
}

/* An extra permission by what it lets the person do ("see analytics and reports"); an unknown
 * name as it is. */
static const char *permission_words(const char *name)
{
    int at = name ? policy_catalogue_permission_index(name) : -1;
    if (at < 0)
        return name ? name : "";
    return policy_catalogue_permission_at((size_t)at)->description;
}

/* "environment Acme – production: Operator, Content manager; also: see analytics and
 * reports" for one grant. */
static const char *grant_line(struct arena *a, struct store_conn *c, const char *agency_name,
                              json_t *grant)
{
    const char *where = agency_name;
    const char *env_id = json_string_value(json_object_get(grant, "environment_id"));
    const char *bot_id = json_string_value(json_object_get(grant, "bot_id"));
    struct usher_error ignored = {0};
    if (env_id) {
        struct store_environment env;
        if (store_environment_get(&env, c, a, env_id, &ignored) == 0)
            where = arena_printf(a, "environment %s", env.name);
    } else if (bot_id) {
        struct store_bot bot;
        if (store_bot_get(&bot, c, a, bot_id, clock_now_ms(), &ignored) == 0)
            where = arena_printf(a, "bot %s", bot.name);
    } else {
        where = arena_printf(a, "all of %s", agency_name);
    }
    struct app_mail_buf words = {a, NULL, 0, 0};
    app_mail_buf_add(&words, "");
    json_t *list = json_object_get(grant, "roles");
    size_t i;
    json_t *item;
    json_array_foreach(list, i, item)
    {
        if (i)
            app_mail_buf_add(&words, ", ");
        app_mail_buf_add(&words, role_words(a, json_string_value(item)));
    }
    json_t *extra = json_object_get(grant, "extra_permissions");
    json_array_foreach(extra, i, item)
    {
        if (i == 0)
            app_mail_buf_add(&words, words.len ? "; also: " : "");
        else
            app_mail_buf_add(&words, ", ");
        app_mail_buf_add(&words, permission_words(json_string_value(item)));
    }
    return arena_printf(a, "%s: %s", where, words.len ? words.data : "no access");
}

int app_invitation_mail_queue(struct store_conn *c, struct arena *a,
                              const struct app_invitation_view *v, struct usher_error *err)
{
    const char *inviter = v->inviter_name ? v->inviter_name : "Your service provider";
    const char *expires = clock_format_readable_ms(a, v->inv.expires_at);
    struct app_mail_buf text = {a, NULL, 0, 0}, html = {a, NULL, 0, 0};
    app_mail_buf_add(&text, "Hello");
    if (v->inv.first_name && *v->inv.first_name) {
        app_mail_buf_add(&text, " ");
        app_mail_buf_add(&text, v->inv.first_name);
    }
    app_mail_buf_add(&text, ",\n\n");
    app_mail_buf_add(&text, inviter);
    app_mail_buf_add(&text, " invited you to work in ");
    app_mail_buf_add(&text, v->agency_name);
    app_mail_buf_add(&text, " with these roles:\n\n");
    app_mail_buf_add(&html, "<!DOCTYPE html><html><body><p>Hello");
    if (v->inv.first_name && *v->inv.first_name) {
        app_mail_buf_add(&html, " ");
        app_mail_buf_html(&html, v->inv.first_name);
    }
    app_mail_buf_add(&html, ",</p><p>");
    app_mail_buf_html(&html, inviter);
    app_mail_buf_add(&html, " invited you to work in <strong>");
    app_mail_buf_html(&html, v->agency_name);
    app_mail_buf_add(&html, "</strong> with these roles:</p><ul>");
    size_t i;
    json_t *grant;
    json_array_foreach(v->grants, i, grant)
    {
        const char *line = grant_line(a, c, v->agency_name, grant);
        app_mail_buf_add(&text, "  - ");
        app_mail_buf_add(&text, line);
        app_mail_buf_add(&text, "\n");
        app_mail_buf_add(&html, "<li>");
        app_mail_buf_html(&html, line);
        app_mail_buf_add(&html, "</li>");
    }
    /* Someone with an account joins without new credentials; nobody is ever emailed a
     * password: the link lets a new user choose one (docs/rules.md, Invitations). */
    struct store_user existing;
    struct usher_error ignored = {0};
    bool has_account = store_user_by_email(&existing, c, a, v->inv.email, &ignored) == 0;
    const char *how = has_account
                          ? "You already have an account with this address, so no new password "
                            "is needed: open the link and sign in to accept. The invitation also "
                            "waits in your console."
                          : "Open the link to accept; you will choose your password there.";
    app_mail_buf_add(&text, "\n");
    app_mail_buf_add(&text, how);
    app_mail_buf_add(&text, "\n\n" MAIL_LINK_PLACEHOLDER "\n\nThe link works once and expires on ");
    app_mail_buf_add(&text, expires);
    app_mail_buf_add(&text, ". If it has expired, ask ");
    app_mail_buf_add(&text, inviter);
    app_mail_buf_add(
        &text, " for a new one.\nIf you did not expect this invitation, ignore this message.\n");
    app_mail_buf_add(&html, "</ul><p>");
    app_mail_buf_html(&html, how);
    app_mail_buf_add(&html,
                     "</p><p><a href=\"" MAIL_LINK_PLACEHOLDER "\">Accept the invitation</a></p>"
                     "<p>The link works once and expires on ");
    app_mail_buf_html(&html, expires);
    app_mail_buf_add(&html, ". If it has expired, ask ");
    app_mail_buf_html(&html, inviter);
    app_mail_buf_add(&html,
                     " for a new one.</p><p>If you did not expect this invitation, ignore this "
                     "message.</p></body></html>");
    struct mail_outbox_item item = {
        .recipient = v->inv.email,
        .subject = arena_printf(a, "%s invited you to %s", inviter, v->agency_name),
        .text = text.data,
        .html = html.data,
        .link_kind = "invitation",
        .link_ref = v->inv.id,
        .link_generation = v->inv.generation,
    };
    return mail_outbox_enqueue(NULL, c, a, &item, err);
}

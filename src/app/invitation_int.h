/* What the invitation files share. */
#ifndef USHER_APP_INVITATION_INT_H
#define USHER_APP_INVITATION_INT_H

#include "app/invitation.h"

/* Queues the invitation email for v (grants, agency and inviter filled) in the caller's
 * transaction. */
int app_invitation_mail_queue(struct store_conn *c, struct arena *a,
                              const struct app_invitation_view *v, struct usher_error *err);

#endif

// The control panel: pending invitations to accept or decline (seed 001's "message about a
// pending invitation"), and the agencies the signed-in user belongs to.
import { useState } from 'preact/hooks';
import { viewAsLock } from '../access';
import { post } from '../api';
import { day, fullName } from '../format';
import { Link } from '../router';
import { useSession } from '../session';
import type { Invitation } from '../types';
import { FormError, PageTitle, announce } from '../ui';
import { GrantList } from './grants';

function PendingInvitation({ inv }: { inv: Invitation }) {
  const { me, refresh } = useSession();
  const [busy, setBusy] = useState(false);
  // Seen by someone viewing the studio as this person: shown, disabled.
  const lock = viewAsLock(me, busy);
  const [error, setError] = useState<unknown>(null);
  async function act(verb: 'accept' | 'decline') {
    setBusy(true);
    setError(null);
    try {
      await post(`/me/invitations/${encodeURIComponent(inv.id)}/${verb}`);
      announce(
        verb === 'accept'
          ? `You joined ${inv.agency.name}`
          : `You declined the invitation to ${inv.agency.name}`,
      );
      await refresh();
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  }
  const titleId = `inv-${inv.id}`;
  return (
    <li class="card invitation" aria-labelledby={titleId}>
      <h3 id={titleId}>Invitation to {inv.agency.name}</h3>
      <p class="muted">
        From {inv.invited_by?.name || 'a manager of the agency'} · valid until {day(inv.expires_at)}
      </p>
      <GrantList grants={inv.grants} places={inv.places} />
      <FormError error={error} fields={[]} />
      <div class="actions">
        <button type="button" class="button" {...lock} onClick={() => act('decline')}>
          Decline
        </button>
        <button type="button" class="button button-primary" {...lock} onClick={() => act('accept')}>
          Accept
        </button>
      </div>
    </li>
  );
}

export function ControlPanel() {
  const { me, signOut } = useSession();
  if (!me) return null;
  return (
    <section class="page">
      <PageTitle text="Control panel" />
      <p class="lead">Welcome, {fullName(me.user)}.</p>
      {me.pending_invitations.length ? (
        <section aria-labelledby="pending-title" class="section">
          <h2 id="pending-title">Pending invitations</h2>
          <ul class="cards">
            {me.pending_invitations.map((inv) => (
              <PendingInvitation key={inv.id} inv={inv} />
            ))}
          </ul>
        </section>
      ) : null}
      <section aria-labelledby="agencies-title" class="section">
        <h2 id="agencies-title">Your agencies</h2>
        {me.agencies.length ? (
          <ul class="cards cards-grid">
            {me.agencies.map((a) => (
              <li key={a.id} class="card">
                <h3>
                  <Link href={`/agencies/${encodeURIComponent(a.id)}`}>{a.name}</Link>
                </h3>
                {a.sso_required ? (
                  <>
                    <p class="note note-info">
                      {a.name} requires its company sign-in. Sign out, then sign in again with your
                      company login to open it.
                    </p>
                    <button type="button" class="button button-small" onClick={signOut}>
                      Sign out to use the company login
                    </button>
                  </>
                ) : (
                  <GrantList grants={a.grants} />
                )}
              </li>
            ))}
          </ul>
        ) : (
          <p class="muted">
            {me.is_platform_admin
              ? 'You are a platform admin: open Agencies to create one or to manage any agency.'
              : 'You are not in any agency yet. When someone invites you, the invitation appears here.'}
          </p>
        )}
      </section>
    </section>
  );
}

// The Account page, /account: the signed-in person's own profile, password, two-step
// verification, linked company logins, sessions and the deletion of the account. A section
// whose API this server lacks is left out: two-step verification needs second_factor in GET
// /me, company sign-in identities, the change of address pending_email, and deletion a DELETE
// on /me (asked once with OPTIONS). An account without a password has no password section.
import { useState } from 'preact/hooks';
import { allowedMethods } from '../api';
import { fullName } from '../format';
import { useSession } from '../session';
import { PageTitle, useLoad } from '../ui';
import { CompanySignInSection } from './account_identities';
import { DeleteSection } from './account_delete';
import { PasswordSection } from './account_password';
import { ProfileSection } from './account_profile';
import { SessionsSection } from './account_sessions';
import { TwoStepSection } from './account_two_step';

function Contents({ items }: { items: [string, string][] }) {
  return (
    <nav class="account-nav" aria-label="Account sections">
      <ul>
        {items.map(([id, label]) => (
          <li key={id}>
            <a
              href={`#${id}`}
              onClick={(e) => {
                // The router owns the address: scroll to the section and move the focus there.
                e.preventDefault();
                const heading = document.getElementById(`${id}-title`);
                heading?.scrollIntoView({ block: 'start' });
                heading?.focus({ preventScroll: true });
              }}
            >
              {label}
            </a>
          </li>
        ))}
      </ul>
    </nav>
  );
}

export function Account() {
  const { me } = useSession();
  const [sessionsTick, setSessionsTick] = useState(0);
  const methods = useLoad(() => allowedMethods('/me'), []);
  if (!me) return null;
  const viewingAs = !!me.impersonator;
  const canDelete = !viewingAs && (methods.data || []).includes('DELETE');
  const items: [string, string][] = [['profile', 'Profile']];
  // An account made through a company login has no password to change.
  const hasPassword = me.has_password !== false;
  if (!viewingAs) {
    if (hasPassword) items.push(['password', 'Password']);
    if (me.second_factor !== undefined) items.push(['two-step', 'Two-step verification']);
    if (Array.isArray(me.identities)) items.push(['company-sign-in', 'Company sign-in']);
    items.push(['sessions', 'Sessions']);
  }
  if (canDelete) items.push(['delete', 'Delete account']);

  return (
    <section class="page account">
      <PageTitle text="Account" />
      <p class="lead">
        {fullName(me.user)} <span class="muted">· {me.user.email}</span>
      </p>
      {viewingAs ? (
        <p class="note note-info">
          You are seeing the studio as {fullName(me.user)}. Their account settings are theirs to
          change: only their profile is shown.
        </p>
      ) : null}
      <div class="account-layout">
        <Contents items={items} />
        <div class="account-sections">
          <ProfileSection me={me} readOnly={viewingAs} />
          {viewingAs ? null : (
            <>
              {hasPassword ? (
                <PasswordSection me={me} onChanged={() => setSessionsTick((t) => t + 1)} />
              ) : null}
              <TwoStepSection me={me} />
              <CompanySignInSection me={me} />
              <SessionsSection me={me} tick={sessionsTick} />
            </>
          )}
          {canDelete ? <DeleteSection me={me} /> : null}
        </div>
      </div>
    </section>
  );
}

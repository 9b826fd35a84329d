// The Account page's "Company sign-in" section: the company logins (OpenID Connect identities)
// linked to the account, each with Unlink (refused while it is the only way in), and a "Link"
// button for each company sign-in of the person's agencies not linked yet, which goes through
// that login (GET /oidc/start?link=1) and comes back to /account; before linking it says that
// a linked login opens the whole account, every agency included. An identity that no longer
// signs in (its connection deleted or moved to another issuer) says so. Shown only when GET /me
// carries identities.
import { useState } from 'preact/hooks';
import { ApiError, del, get, withQuery } from '../api';
import { day } from '../format';
import { useSession } from '../session';
import type { Agency, Identity, Me } from '../types';
import { Confirm, useLoad } from '../ui';
import { AccountSection } from './account_kit';

// The refusals of DELETE /me/identities/{id} in words.
function unlinkError(e: unknown, me: Me): unknown {
  if (e instanceof ApiError && e.code === 'last_sign_in_method')
    return new ApiError(
      e.status,
      e.code,
      me.has_password === false
        ? 'This company login is your only way to sign in: you have no password in usher and no other company login. Link another company login first, then unlink this one.'
        : 'This company login is your only way to sign in. Link another one first, then unlink this one.',
      null,
      e.requestId,
    );
  return e;
}

// The company sign-ins of the person's agencies, from each agency's answer.
async function agencyConnections(me: Me): Promise<{ id: string; name: string; agency: string }[]> {
  const out: { id: string; name: string; agency: string }[] = [];
  const answers = await Promise.all(
    me.agencies.map((a) => get<Agency>(`/agencies/${encodeURIComponent(a.id)}`).catch(() => null)),
  );
  for (const a of answers) {
    for (const c of a?.sign_in_connections || [])
      if (!out.some((x) => x.id === c.id)) out.push({ ...c, agency: a!.name });
  }
  return out;
}

export function CompanySignInSection({ me }: { me: Me }) {
  const { refresh } = useSession();
  const [unlinking, setUnlinking] = useState<Identity | null>(null);
  const connections = useLoad(
    () => agencyConnections(me),
    [me.user.id, me.agencies.map((a) => a.id).join()],
  );
  if (!Array.isArray(me.identities)) return null;
  const identities = me.identities;
  const linkable = (connections.data || []).filter(
    (c) => !identities.some((i) => i.connection_id === c.id && i.usable !== false),
  );
  const label = (i: Identity) => i.connection_name || i.issuer;

  return (
    <AccountSection id="company-sign-in" title="Company sign-in">
      {me.sign_in_method === 'oidc' ? (
        <p class="muted">You signed in this time with a company login.</p>
      ) : null}
      {identities.length ? (
        <ul class="identity-list">
          {identities.map((i) => (
            <li key={i.id}>
              <div>
                <p>
                  <strong>{label(i)}</strong>
                  {i.email ? <span class="muted"> · {i.email}</span> : null}
                </p>
                <p class="muted small">Linked {day(i.created_at)}</p>
                {i.usable === false ? (
                  <p class="note note-warn small">
                    No longer signs you in:{' '}
                    {i.connection_id
                      ? 'this company sign-in now points to another login service.'
                      : 'the agency removed this company sign-in.'}
                  </p>
                ) : null}
              </div>
              <button
                type="button"
                class="button button-small button-danger-quiet"
                onClick={() => setUnlinking(i)}
                aria-label={`Unlink ${label(i)}`}
              >
                Unlink
              </button>
            </li>
          ))}
        </ul>
      ) : (
        <p>No company login is linked to your account: you sign in with your password.</p>
      )}
      {linkable.length ? (
        <>
          <p class="hint">
            Link a company login to sign in with it instead of your password. It takes you there and
            back.
          </p>
          <p class="note note-info" id="link-whole-account">
            A linked company login signs you in to your whole usher account: every agency you belong
            to, not only the one whose company sign-in it is. Link only a login that is yours alone.
          </p>
          <div class="link-buttons">
            {linkable.map((c) => (
              <a
                key={c.id}
                class="button"
                href={withQuery('/api/v1/oidc/start', { connection_id: c.id, link: 1 })}
              >
                Link {c.name}
              </a>
            ))}
          </div>
        </>
      ) : null}
      {unlinking ? (
        <Confirm
          title={`Unlink ${label(unlinking)}?`}
          confirm="Unlink"
          onClose={() => setUnlinking(null)}
          onConfirm={async () => {
            try {
              await del(`/me/identities/${encodeURIComponent(unlinking.id)}`);
            } catch (e) {
              throw unlinkError(e, me);
            }
            await refresh();
          }}
        >
          <p>
            You will no longer sign in with <strong>{label(unlinking)}</strong>
            {unlinking.email ? ` (${unlinking.email})` : ''}. You can link it again later.
          </p>
        </Confirm>
      ) : null}
    </AccountSection>
  );
}

// API tokens of an agency, for the studio's services that call the check API: named, shown
// once when created, revocable.
import { useState } from 'preact/hooks';
import { del, get, post } from '../api';
import { AgencyShell, useAgency } from '../agency';
import { when } from '../format';
import type { ApiToken, Page } from '../types';
import {
  Confirm,
  IconClipboard,
  LoadProblem,
  Loading,
  PageTitle,
  announce,
  copyText,
  useLoad,
} from '../ui';
import { CreateByName } from './agencies';

function TokenList() {
  const { agency, access } = useAgency();
  const path = `/agencies/${encodeURIComponent(agency.id)}/tokens`;
  const tokens = useLoad(() => get<Page<ApiToken>>(`${path}?limit=200`), [path]);
  const [made, setMade] = useState<ApiToken | null>(null);
  const [revoking, setRevoking] = useState<ApiToken | null>(null);
  // The controls the person holds show; while someone views the studio as them, disabled.
  const canManage = access.shows('agency.manage', agency.id);
  const lock = access.lock();
  return (
    <section class="page">
      <PageTitle text="API tokens" />
      <p class="muted">
        Services such as the inbox or the CMS use a token to ask usher who may do what.
      </p>
      {canManage && !tokens.error?.isMissingRoute ? (
        <CreateByName
          label="New token name"
          button="Create token"
          lock={lock}
          onCreate={async (name) => {
            const t = await post<ApiToken>(path, { name });
            setMade(t);
            tokens.reload();
          }}
        />
      ) : null}
      {made?.token ? (
        <div class="note note-ok" role="status">
          <p>
            Token <strong>{made.name}</strong> created. Copy it now: it is not shown again.
          </p>
          <p class="secret">
            <code>{made.token}</code>
            <button
              type="button"
              class="button button-small"
              onClick={async () =>
                announce(
                  (await copyText(made.token!)) ? 'Token copied' : 'Select the token and copy it',
                  'ok',
                )
              }
            >
              <IconClipboard /> Copy
            </button>
          </p>
        </div>
      ) : null}
      {tokens.error ? <LoadProblem error={tokens.error} what="API tokens" /> : null}
      {!tokens.data ? (
        tokens.error ? null : (
          <Loading />
        )
      ) : tokens.data.items.length === 0 ? (
        <p class="muted">No tokens yet.</p>
      ) : (
        <div class="table-wrap" tabIndex={0} role="region" aria-label="API tokens table">
          <table class="table table-cards tokens-table">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Created</th>
                <th scope="col">Last used</th>
                <th scope="col">Status</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {tokens.data.items.map((t) => (
                <tr key={t.id}>
                  <th scope="row">{t.name}</th>
                  <td>{when(t.created_at)}</td>
                  <td>{when(t.last_used_at)}</td>
                  <td>{t.revoked_at ? `Revoked ${when(t.revoked_at)}` : 'Active'}</td>
                  <td>
                    {!t.revoked_at && canManage ? (
                      <button
                        type="button"
                        class="button button-small button-danger"
                        aria-label={`Revoke ${t.name}`}
                        {...lock}
                        onClick={() => setRevoking(t)}
                      >
                        Revoke
                      </button>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {revoking ? (
        <Confirm
          title={`Revoke ${revoking.name}`}
          confirm="Revoke token"
          onClose={() => setRevoking(null)}
          onConfirm={async () => {
            await del(`${path}/${encodeURIComponent(revoking.id)}`);
            announce(`Token ${revoking.name} revoked`);
            tokens.reload();
          }}
        >
          <p>
            Every service using <strong>{revoking.name}</strong> is refused from its next request.
            This cannot be undone.
          </p>
        </Confirm>
      ) : null}
    </section>
  );
}

export function AgencyTokens({ agencyId }: { agencyId: string }) {
  return (
    <AgencyShell agencyId={agencyId} section="tokens">
      <TokenList />
    </AgencyShell>
  );
}

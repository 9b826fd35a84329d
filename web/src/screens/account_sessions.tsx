// The Account page's sessions: every place the person is signed in (GET /me/sessions), the
// device in words, its address and times, this device marked; any other one can be signed out
// (DELETE /me/sessions/{id}), or all of them at once.
import { useEffect, useState } from 'preact/hooks';
import { del, get, messageOf } from '../api';
import { deviceName } from '../device';
import { plural, when } from '../format';
import type { AccountSession, Me } from '../types';
import { Badge, LoadProblem, Loading, announce, useLoad } from '../ui';
import { AccountSection, accountError, focusSoon } from './account_kit';

function SessionRow({
  s,
  onEnd,
  busy,
}: {
  s: AccountSession;
  onEnd: (s: AccountSession) => void;
  busy: boolean;
}) {
  const device = deviceName(s.user_agent);
  return (
    <tr>
      <th scope="row" data-label="Device">
        {device}
        {s.current ? (
          <>
            {' '}
            <Badge kind="ok">This device</Badge>
          </>
        ) : null}
      </th>
      <td data-label="Address">{s.address || s.source_ip || 'unknown'}</td>
      <td data-label="Signed in">{when(s.created_at)}</td>
      <td data-label="Last used">{when(s.last_used_at, 'not yet')}</td>
      <td class="row-actions">
        {s.current ? (
          <span class="muted small">You are here</span>
        ) : (
          <button
            type="button"
            class="button button-small"
            disabled={busy}
            aria-label={`Sign out ${device}, signed in ${when(s.created_at)}`}
            onClick={() => onEnd(s)}
          >
            Sign out
          </button>
        )}
      </td>
    </tr>
  );
}

export function SessionsSection({ me, tick }: { me: Me; tick: number }) {
  const list = useLoad(() => get<{ items: AccountSession[] }>('/me/sessions'), [tick]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const items = list.data?.items || [];
  const others = items.filter((s) => !s.current);
  useEffect(() => {
    if (error) focusSoon('sessions-error-note');
  }, [error]);

  async function end(ids: string[], said: string) {
    setBusy(true);
    setError(null);
    try {
      for (const id of ids) await del(`/me/sessions/${encodeURIComponent(id)}`);
      announce(said);
      focusSoon('sessions-title');
    } catch (err) {
      setError(accountError(err, me));
    }
    list.reload();
    setBusy(false);
  }

  return (
    <AccountSection id="sessions" title="Sessions">
      <p class="hint">
        Where your account is signed in now. Sign out any you do not recognise, then change your
        password.
      </p>
      {list.error ? (
        <LoadProblem error={list.error} what="Sessions" />
      ) : !list.data ? (
        <Loading what="Loading your sessions" />
      ) : (
        <>
          <div class="table-wrap">
            <table class="table table-cards">
              <caption class="visually-hidden">Your sessions</caption>
              <thead>
                <tr>
                  <th scope="col">Device</th>
                  <th scope="col">Address</th>
                  <th scope="col">Signed in</th>
                  <th scope="col">Last used</th>
                  <th scope="col">
                    <span class="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {items.map((s) => (
                  <SessionRow
                    key={s.id}
                    s={s}
                    busy={busy}
                    onEnd={(x) => end([x.id], `${deviceName(x.user_agent)} was signed out`)}
                  />
                ))}
              </tbody>
            </table>
          </div>
          {error ? (
            <p class="note note-error" id="sessions-error-note" role="alert">
              {messageOf(error)}
            </p>
          ) : null}
          <div class="actions actions-start">
            <p class="muted small actions-hint">
              {others.length
                ? `${plural(others.length, 'other session', 'other sessions')} besides this one.`
                : 'You are signed in only here.'}
            </p>
            {others.length ? (
              <button
                type="button"
                class="button"
                disabled={busy}
                onClick={() =>
                  end(
                    others.map((s) => s.id),
                    `${plural(others.length, 'other session was', 'other sessions were')} signed out`,
                  )
                }
              >
                Sign out everywhere else
              </button>
            ) : null}
          </div>
        </>
      )}
    </AccountSection>
  );
}

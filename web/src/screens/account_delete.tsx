// The Account page's danger zone: deleting one's own account (DELETE /me) with the current
// password, a code from the authenticator app or a recovery code when two-step verification is
// on, and the email address typed out; and the page shown afterwards, signed out. An account
// without a password proves itself by a recent company sign-in instead: the section offers to
// sign in again with its company login (back to /account#delete) and, for the minutes after
// such a sign-in, asks only for the typed address.
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, api, withQuery } from '../api';
import { when } from '../format';
import { Link } from '../router';
import { useSession } from '../session';
import type { Identity, Me } from '../types';
import { FormError, PageTitle, TextField, fieldMessage } from '../ui';
import { AccountSection, accountError, focusSoon, useFocusError } from './account_kit';
import {
  CONFIRM_WORDS,
  SecondFactorCodeField,
  confirmCodeRefusal,
  useSecondFactorCode,
} from './second_factor_code';

// The code field's words here: the same as elsewhere on the page, with why it is asked.
const WHY_A_CODE = 'Your account has two-step verification on: confirm with a code.';
const DELETE_WORDS = { ...CONFIRM_WORDS, codeHint: WHY_A_CODE, recoveryHint: WHY_A_CODE };

function DeleteForm({
  me,
  onCancel,
  onExpired,
}: {
  me: Me;
  onCancel: () => void;
  onExpired: () => void;
}) {
  const session = useSession();
  const [password, setPassword] = useState('');
  const [typed, setTyped] = useState('');
  const code = useSecondFactorCode();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const form = useRef<HTMLFormElement>(null);
  useFocusError(form, error);
  useEffect(() => form.current?.querySelector<HTMLInputElement>('input')?.focus(), []);
  // Without a password, the recent company sign-in of this session is the proof.
  const withPassword = me.has_password !== false;
  const twoStep = withPassword && me.second_factor === true;

  async function submit(e: Event) {
    e.preventDefault();
    const refusal = twoStep ? confirmCodeRefusal(code) : null;
    if (refusal) {
      setError(refusal);
      return;
    }
    if (typed.trim().toLowerCase() !== me.user.email.toLowerCase()) {
      setError(
        new ApiError(
          400,
          'invalid_input',
          `Type your email address, ${me.user.email}, exactly.`,
          'confirm_email',
          null,
        ),
      );
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const body = !withPassword
        ? {}
        : twoStep
          ? { current_password: password, [code.field]: code.value }
          : { current_password: password };
      await api('DELETE', '/me', body, { quietAuth: true });
      session.ended('/account-deleted');
    } catch (err) {
      setBusy(false);
      if (err instanceof ApiError && err.status === 401 && err.code !== 'invalid_credentials') {
        await session.refresh();
        return;
      }
      if (err instanceof ApiError && err.code === 'recent_sign_in_required') {
        // The minutes after the sign-in ran out: the section offers to sign in again.
        await session.refresh();
        onExpired();
        return;
      }
      setError(accountError(err, me, { invalid_code: code.field }));
    }
  }

  return (
    <form
      ref={form}
      onSubmit={submit}
      noValidate
      aria-label="Delete account"
      class="account-subform"
    >
      {withPassword ? (
        <TextField
          label="Current password"
          name="current_password"
          type="password"
          value={password}
          onValue={setPassword}
          required
          autoComplete="current-password"
          error={error}
        />
      ) : null}
      {twoStep ? (
        <SecondFactorCodeField
          state={code}
          onSwitch={() => setError(null)}
          error={fieldMessage(error, code.field)}
          words={DELETE_WORDS}
        />
      ) : null}
      <TextField
        label="Type your email address to confirm"
        name="confirm_email"
        type="email"
        value={typed}
        onValue={setTyped}
        required
        autoComplete="off"
        hint={me.user.email}
        error={error}
      />
      <FormError error={error} fields={['current_password', code.field, 'confirm_email']} />
      <div class="actions actions-start">
        <button type="submit" class="button button-danger" disabled={busy}>
          {busy ? 'Deleting…' : 'Delete my account'}
        </button>
        <button type="button" class="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

// Whether this session is a company sign-in recent enough to delete an account without a
// password (the server decides again when asked).
function recentSignIn(me: Me): boolean {
  const until = me.recent_sign_in_until ? Date.parse(me.recent_sign_in_until) : NaN;
  return !Number.isNaN(until) && until > Date.now();
}

// The company logins that still sign this account in.
function usableLogins(me: Me): Identity[] {
  const out: Identity[] = [];
  for (const i of me.identities || [])
    if (
      i.connection_id &&
      i.usable !== false &&
      !out.some((o) => o.connection_id === i.connection_id)
    )
      out.push(i);
  return out;
}

// For an account without a password and no recent company sign-in: what to do instead.
function SignInAgain({ me, expired }: { me: Me; expired: boolean }) {
  const logins = usableLogins(me);
  return (
    <div id="delete-no-password">
      {expired ? (
        <p class="note note-warn" role="alert">
          Your sign-in is no longer recent enough to delete the account. Sign in again first.
        </p>
      ) : null}
      <p class="note note-info">
        You have no usher password: you sign in with a company login. To delete your account, sign
        in again with it; for the next 10 minutes you can then delete the account here.
      </p>
      {logins.length ? (
        <div class="actions actions-start">
          {logins.map((i) => (
            <a
              key={i.id}
              class="button"
              href={withQuery('/api/v1/oidc/start', {
                connection_id: i.connection_id,
                return_to: '/account#delete',
              })}
            >
              Sign in again with {i.connection_name || i.issuer}
            </a>
          ))}
        </div>
      ) : (
        <p>
          None of your company logins signs you in any more: ask a platform administrator to delete
          the account for you.
        </p>
      )}
    </div>
  );
}

export function DeleteSection({ me }: { me: Me }) {
  const withPassword = me.has_password !== false;
  const recent = !withPassword && recentSignIn(me);
  const [expired, setExpired] = useState(false);
  // Back from signing in again (return_to /account#delete): the form opens at once.
  const [open, setOpen] = useState(() => recent && location.hash === '#delete');
  const agencies = me.agencies.map((a) => a.name).filter(Boolean);
  useEffect(() => {
    if (location.hash !== '#delete') return;
    const heading = document.getElementById('delete-title');
    heading?.scrollIntoView({ block: 'start' });
  }, []);
  return (
    <AccountSection id="delete" title="Delete account" danger>
      <p>Deleting your account cannot be undone. It removes:</p>
      <ul class="loss-list">
        <li>your name, email address and password, and every session where you are signed in;</li>
        <li>your two-step verification settings and recovery codes, if any;</li>
        <li>
          your access to {agencies.length ? agencies.join(', ') : 'every agency'}, and any
          invitations waiting for your email address.
        </li>
      </ul>
      <p class="hint">
        What you did stays in the agencies' audit logs, shown as done by "deleted user", without
        your name or email address. If you are the only owner of an agency, make someone else an
        owner first.
      </p>
      {!withPassword && (!recent || expired) ? (
        <SignInAgain me={me} expired={expired} />
      ) : (
        <>
          {recent ? (
            <p class="note note-info" id="delete-recent-sign-in">
              You signed in recently with your company login: you can delete your account without a
              password until {when(me.recent_sign_in_until)}.
            </p>
          ) : null}
          {open ? (
            <DeleteForm
              me={me}
              onCancel={() => {
                setOpen(false);
                focusSoon('delete-open');
              }}
              onExpired={() => {
                setOpen(false);
                setExpired(true);
              }}
            />
          ) : (
            <div class="actions actions-start">
              <button
                type="button"
                id="delete-open"
                class="button button-danger"
                onClick={() => setOpen(true)}
              >
                Delete account…
              </button>
            </div>
          )}
        </>
      )}
    </AccountSection>
  );
}

export function AccountDeleted() {
  return (
    <section class="page page-narrow">
      <div class="card">
        <PageTitle text="Your account was deleted" />
        <p role="status">
          Your name, email address and password are gone from usher, and you were signed out
          everywhere. The agencies you belonged to see you as "deleted user" in their audit logs.
        </p>
        <p>To use usher again, you would need a new invitation from an agency.</p>
        <div class="actions actions-start">
          <Link href="/signin" class="button">
            Go to sign in
          </Link>
        </div>
      </div>
    </section>
  );
}

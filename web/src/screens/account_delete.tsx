// The Account page's danger zone: deleting one's own account (DELETE /me) with the current
// password, a code from the authenticator app or a recovery code when two-step verification is
// on, and the email address typed out; and the page shown afterwards, signed out. An account
// without a password is told how to get one (the deletion asks for it).
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, api } from '../api';
import { Link } from '../router';
import { useSession } from '../session';
import type { Me } from '../types';
import { FormError, PageTitle, TextField } from '../ui';
import { AccountSection, accountError, focusSoon, useFocusError } from './account_kit';

function DeleteForm({ me, onCancel }: { me: Me; onCancel: () => void }) {
  const session = useSession();
  const [password, setPassword] = useState('');
  const [typed, setTyped] = useState('');
  const [code, setCode] = useState('');
  const [recovery, setRecovery] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const form = useRef<HTMLFormElement>(null);
  useFocusError(form, error);
  useEffect(() => form.current?.querySelector<HTMLInputElement>('input')?.focus(), []);
  const twoStep = me.second_factor === true;
  const field = recovery ? 'recovery_code' : 'code';

  async function submit(e: Event) {
    e.preventDefault();
    const value = recovery ? code.trim() : code.replace(/\s+/g, '');
    if (twoStep && !recovery && !/^\d{6}$/.test(value)) {
      const text = 'Enter the 6 digits your app shows for usher.';
      setError(new ApiError(400, 'invalid_input', text, 'code', null));
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
      const body = twoStep
        ? { current_password: password, [field]: value }
        : { current_password: password };
      await api('DELETE', '/me', body, { quietAuth: true });
      session.ended('/account-deleted');
    } catch (err) {
      setBusy(false);
      if (err instanceof ApiError && err.status === 401 && err.code !== 'invalid_credentials') {
        await session.refresh();
        return;
      }
      setError(accountError(err, me, { invalid_code: field }));
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
      {twoStep ? (
        <>
          <TextField
            key={field}
            label={recovery ? 'Recovery code' : '6-digit code from the app'}
            name={field}
            value={code}
            onValue={setCode}
            required
            inputMode={recovery ? 'text' : 'numeric'}
            autoComplete={recovery ? 'off' : 'one-time-code'}
            hint="Your account has two-step verification on: confirm with a code."
            error={error}
          />
          <p class="small">
            <button
              type="button"
              class="link-button"
              onClick={() => {
                setRecovery(!recovery);
                setCode('');
                setError(null);
              }}
            >
              {recovery ? 'Use a code from the app instead' : 'Use a recovery code instead'}
            </button>
          </p>
        </>
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
      <FormError error={error} fields={['current_password', field, 'confirm_email']} />
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

export function DeleteSection({ me }: { me: Me }) {
  const [open, setOpen] = useState(false);
  const agencies = me.agencies.map((a) => a.name).filter(Boolean);
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
      {me.has_password === false ? (
        <p class="note note-info" id="delete-no-password">
          Deleting your account asks for your usher password, and you sign in only through a company
          login. Set a password first with &ldquo;Forgot password?&rdquo; on the sign-in page, or
          ask a platform administrator to delete the account for you.
        </p>
      ) : open ? (
        <DeleteForm
          me={me}
          onCancel={() => {
            setOpen(false);
            focusSoon('delete-open');
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

// The Account page's danger zone: deleting one's own account (DELETE /me) with the current
// password and the email address typed out, and the page shown afterwards, signed out.
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
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const form = useRef<HTMLFormElement>(null);
  useFocusError(form, error);
  useEffect(() => form.current?.querySelector<HTMLInputElement>('input')?.focus(), []);

  async function submit(e: Event) {
    e.preventDefault();
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
      await api('DELETE', '/me', { current_password: password }, { quietAuth: true });
      session.ended('/account-deleted');
    } catch (err) {
      setBusy(false);
      if (err instanceof ApiError && err.status === 401 && err.code !== 'invalid_credentials') {
        await session.refresh();
        return;
      }
      setError(accountError(err, me));
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
      <FormError error={error} fields={['current_password', 'confirm_email']} />
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
      {open ? (
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

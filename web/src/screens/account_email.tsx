// A change of the email address: the new address and the current password (POST /me/email),
// then a link is mailed to the new address, and the change waits for it; while it waits, it can
// be cancelled (DELETE /me/email). Shown only when GET /me carries pending_email, so a server
// without the feature offers nothing.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../api';
import { useSession } from '../session';
import type { Me } from '../types';
import { FormError, TextField, announce } from '../ui';
import { accountError, focusSoon, useFocusError } from './account_kit';

// The address waiting for confirmation: a string, null when none, undefined when this server
// does not know the feature.
export function pendingEmail(me: Me): string | null | undefined {
  const user = me.user as { pending_email?: string | null };
  if (me.pending_email !== undefined) return me.pending_email;
  return user.pending_email;
}

function ChangeForm({ me, onDone }: { me: Me; onDone: () => void }) {
  const session = useSession();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const form = useRef<HTMLFormElement>(null);
  useFocusError(form, error);
  useEffect(() => form.current?.querySelector<HTMLInputElement>('input')?.focus(), []);

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api(
        'POST',
        '/me/email',
        { email: email.trim(), current_password: password },
        { quietAuth: true },
      );
      await session.refresh();
      announce(`A confirmation link was sent to ${email.trim()}`);
      onDone();
      focusSoon('email-pending');
    } catch (err) {
      setBusy(false);
      if (
        err &&
        (err as { status?: number }).status === 401 &&
        (err as { code?: string }).code !== 'invalid_credentials'
      ) {
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
      aria-label="Change email address"
      class="account-subform"
    >
      <p class="hint">
        We send a link to the new address. Your address changes when you open it; until then you
        sign in with {me.user.email}.
      </p>
      <TextField
        label="New email address"
        name="email"
        type="email"
        value={email}
        onValue={setEmail}
        required
        autoComplete="email"
        error={error}
      />
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
      <FormError error={error} fields={['email', 'current_password']} />
      <div class="actions actions-start">
        <button type="submit" class="button button-primary" disabled={busy}>
          {busy ? 'Sending…' : 'Send confirmation link'}
        </button>
        <button
          type="button"
          class="button"
          onClick={() => {
            onDone();
            focusSoon('change-email');
          }}
        >
          Cancel
        </button>
      </div>
    </form>
  );
}

export function EmailChange({ me }: { me: Me }) {
  const session = useSession();
  const [open, setOpen] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const pending = pendingEmail(me);
  if (pending === undefined) return null;

  async function cancel() {
    setBusy(true);
    setError(null);
    try {
      await api('DELETE', '/me/email', undefined, { quietAuth: true });
      await session.refresh();
      announce('The change of email address was cancelled');
      focusSoon('change-email');
    } catch (err) {
      setError(accountError(err, me));
    }
    setBusy(false);
  }

  return (
    <div class="account-email-change">
      {pending ? (
        <div class="note note-info" id="email-pending">
          <p>
            Confirmation sent to <strong>{pending}</strong>: the change is pending until the link in
            that email is opened (it works for 24 hours). Until then you sign in with{' '}
            {me.user.email}.
          </p>
          <FormError error={error} fields={[]} />
          <button type="button" class="button button-small" disabled={busy} onClick={cancel}>
            {busy ? 'Cancelling…' : 'Cancel the change'}
          </button>
        </div>
      ) : null}
      {open ? (
        <ChangeForm me={me} onDone={() => setOpen(false)} />
      ) : (
        <button type="button" id="change-email" class="button" onClick={() => setOpen(true)}>
          {pending ? 'Change to another address' : 'Change email'}
        </button>
      )}
    </div>
  );
}

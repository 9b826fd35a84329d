// The Account page's profile: the person's first and last name (PATCH /me) and their email
// address, with the change of address when this server has it.
import { useRef, useState } from 'preact/hooks';
import { patch } from '../api';
import { useSession } from '../session';
import type { Me } from '../types';
import { FormError, TextField, announce } from '../ui';
import { EmailChange } from './account_email';
import { AccountSection, accountError, useFocusError } from './account_kit';

function NamesForm({ me }: { me: Me }) {
  const session = useSession();
  const [first, setFirst] = useState(me.user.first_name || '');
  const [last, setLast] = useState(me.user.last_name || '');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState(false);
  const form = useRef<HTMLFormElement>(null);
  useFocusError(form, error);
  const changed =
    first.trim() !== (me.user.first_name || '') || last.trim() !== (me.user.last_name || '');

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setSaved(false);
    try {
      await patch('/me', { first_name: first.trim(), last_name: last.trim() });
      await session.refresh();
      setSaved(true);
      announce('Your name was saved');
    } catch (err) {
      setError(accountError(err, me));
    }
    setBusy(false);
  }

  return (
    <form ref={form} onSubmit={submit} noValidate aria-label="Your name">
      <div class="row-2">
        <TextField
          label="First name"
          name="first_name"
          value={first}
          onValue={(v) => {
            setFirst(v);
            setSaved(false);
          }}
          required
          autoComplete="given-name"
          error={error}
        />
        <TextField
          label="Last name"
          name="last_name"
          value={last}
          onValue={(v) => {
            setLast(v);
            setSaved(false);
          }}
          required
          autoComplete="family-name"
          error={error}
        />
      </div>
      <FormError error={error} fields={['first_name', 'last_name']} />
      <div class="actions actions-start">
        <button type="submit" class="button button-primary" disabled={busy || !changed}>
          {busy ? 'Saving…' : 'Save name'}
        </button>
        {saved ? (
          <p class="inline-ok" role="status">
            Saved.
          </p>
        ) : null}
      </div>
    </form>
  );
}

export function ProfileSection({ me, readOnly }: { me: Me; readOnly: boolean }) {
  return (
    <AccountSection id="profile" title="Profile">
      {readOnly ? (
        <dl class="facts">
          <dt>Name</dt>
          <dd>{[me.user.first_name, me.user.last_name].filter(Boolean).join(' ') || '—'}</dd>
        </dl>
      ) : (
        <NamesForm me={me} />
      )}
      <h3 class="account-sub">Email address</h3>
      <p class="account-email">
        <strong>{me.user.email}</strong>
      </p>
      {readOnly ? null : <EmailChange me={me} />}
    </AccountSection>
  );
}

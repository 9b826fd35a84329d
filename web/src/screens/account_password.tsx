// The Account page's password: the current one and a new one with the strength meter
// (POST /me/password). The server signs out every other session of the account; this one stays.
import { useRef, useState } from 'preact/hooks';
import { post } from '../api';
import { PasswordChoice, usePasswordChoice } from '../password_choice';
import type { Me } from '../types';
import { FormError, TextField, announce } from '../ui';
import { AccountSection, accountError, focusSoon, useFocusError } from './account_kit';

const FIELDS = ['current_password', 'new_password', 'new_password_repeat'];

export function PasswordSection({ me, onChanged }: { me: Me; onChanged: () => void }) {
  const [current, setCurrent] = useState('');
  const choice = usePasswordChoice('new_password', 'New password');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState(false);
  const form = useRef<HTMLFormElement>(null);
  useFocusError(form, error);

  async function submit(e: Event) {
    e.preventDefault();
    setDone(false);
    const differ = choice.mismatch();
    if (differ) {
      setError(differ);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await post('/me/password', { current_password: current, new_password: choice.value });
      setCurrent('');
      choice.clear();
      setDone(true);
      announce('Your password was changed');
      onChanged();
      focusSoon('password-done');
    } catch (err) {
      setError(accountError(err, me));
    }
    setBusy(false);
  }

  return (
    <AccountSection id="password" title="Password">
      <p class="hint">
        Changing your password signs out every other session of your account. This one stays signed
        in.
      </p>
      {done ? (
        <p class="note note-ok" id="password-done" role="status">
          Your password was changed. Every other session of your account was signed out; you stay
          signed in here. We sent a notice to {me.user.email}.
        </p>
      ) : null}
      <form ref={form} onSubmit={submit} noValidate aria-label="Change password">
        <TextField
          label="Current password"
          name="current_password"
          type="password"
          value={current}
          onValue={setCurrent}
          required
          autoComplete="current-password"
          error={error}
        />
        <PasswordChoice
          choice={choice}
          error={error}
          email={me.user.email}
          names={[me.user.first_name, me.user.last_name]}
        />
        <FormError error={error} fields={FIELDS} />
        <div class="actions actions-start">
          <button type="submit" class="button button-primary" disabled={busy}>
            {busy ? 'Changing the password…' : 'Change password'}
          </button>
        </div>
      </form>
    </AccountSection>
  );
}

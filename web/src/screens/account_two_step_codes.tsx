// New recovery codes while two-step verification is on: the current password and a code from
// the app (POST /me/totp/recovery-codes); the old codes stop working and the ten new ones are
// shown once, as at enrolment.
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from '../api';
import { useSession } from '../session';
import type { Me } from '../types';
import { FormError, TextField } from '../ui';
import { accountError, useFocusError } from './account_kit';
import { RecoveryCodes } from './recovery_codes';
import { sendTotp } from './totp_scan';

export function NewRecoveryCodes({ me, onDone }: { me: Me; onDone: () => void }) {
  const session = useSession();
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const [codes, setCodes] = useState<string[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const form = useRef<HTMLFormElement>(null);
  useFocusError(form, error);
  useEffect(() => form.current?.querySelector<HTMLInputElement>('input')?.focus(), []);

  if (codes) {
    return <RecoveryCodes codes={codes} email={me.user.email} onDone={onDone} replaced />;
  }

  async function submit(e: Event) {
    e.preventDefault();
    const digits = code.replace(/\s+/g, '');
    if (!/^\d{6}$/.test(digits)) {
      const text = 'Enter the 6 digits your app shows for usher.';
      setError(new ApiError(400, 'invalid_input', text, 'code', null));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const body = { current_password: password, code: digits };
      type Answer = { recovery_codes: string[] };
      const answer = await sendTotp<Answer>('/me/totp/recovery-codes', body, session.refresh);
      setCodes(answer.recovery_codes || []);
    } catch (err) {
      setBusy(false);
      setError(accountError(err, me, { invalid_code: 'code' }));
    }
  }

  return (
    <form
      ref={form}
      onSubmit={submit}
      noValidate
      aria-label="New recovery codes"
      class="account-subform"
    >
      <p>
        New codes replace all the old ones, used or not. Confirm with your password and a code from
        the app.
      </p>
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
        label="6-digit code from the app"
        name="code"
        value={code}
        onValue={setCode}
        required
        inputMode="numeric"
        autoComplete="one-time-code"
        error={error}
      />
      <FormError error={error} fields={['current_password', 'code']} />
      <div class="actions actions-start">
        <button type="submit" class="button button-primary" disabled={busy}>
          {busy ? 'Making new codes…' : 'Make new codes'}
        </button>
        <button type="button" class="button" onClick={onDone}>
          Cancel
        </button>
      </div>
    </form>
  );
}

// The Account page's two-step verification: whether it is on, turning it on (the steps in
// totp_enrol.tsx), new recovery codes (account_two_step_codes.tsx), and turning it off
// with the current password and a code from the app or a recovery code (DELETE /me/totp).
// Shown only when GET /me carries second_factor. An account without a password (it signs in
// only through a company login, which never asks for usher's code) is told so, with no
// "Turn on" button.
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, api } from '../api';
import { useSession } from '../session';
import type { Me } from '../types';
import { Badge, FormError, TextField, announce, fieldMessage } from '../ui';
import { AccountSection, accountError, focusSoon, useFocusError } from './account_kit';
import {
  SecondFactorCodeField,
  confirmCodeRefusal,
  useSecondFactorCode,
} from './second_factor_code';
import { TotpEnrol } from './totp_enrol';
import { NewRecoveryCodes } from './account_two_step_codes';

function TurnOff({ me, onDone }: { me: Me; onDone: (off: boolean) => void }) {
  const session = useSession();
  const [password, setPassword] = useState('');
  const code = useSecondFactorCode();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const form = useRef<HTMLFormElement>(null);
  useFocusError(form, error);
  useEffect(() => form.current?.querySelector<HTMLInputElement>('input')?.focus(), []);

  async function submit(e: Event) {
    e.preventDefault();
    const refusal = confirmCodeRefusal(code);
    if (refusal) {
      setError(refusal);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const body = { current_password: password, [code.field]: code.value };
      await api('DELETE', '/me/totp', body, { quietAuth: true });
      onDone(true);
    } catch (err) {
      setBusy(false);
      const ours =
        err instanceof ApiError && ['invalid_code', 'invalid_credentials'].includes(err.code);
      if (err instanceof ApiError && err.status === 401 && !ours) {
        await session.refresh();
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
      aria-label="Turn off two-step verification"
      class="account-subform"
    >
      <p>Without it, your password alone signs you in. Confirm with your password and a code.</p>
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
      <SecondFactorCodeField
        state={code}
        onSwitch={() => setError(null)}
        error={fieldMessage(error, code.field)}
      />
      <FormError error={error} fields={['current_password', code.field]} />
      <div class="actions actions-start">
        <button type="submit" class="button button-danger" disabled={busy}>
          {busy ? 'Turning off…' : 'Turn off two-step verification'}
        </button>
        <button type="button" class="button" onClick={() => onDone(false)}>
          Cancel
        </button>
      </div>
    </form>
  );
}

export function TwoStepSection({ me }: { me: Me }) {
  const session = useSession();
  const [mode, setMode] = useState<'status' | 'on' | 'off' | 'codes'>('status');
  if (me.second_factor === undefined) return null;
  const on = me.second_factor;
  const noPassword = !on && me.has_password === false;

  async function finished(changed: boolean, said: string) {
    if (changed) {
      await session.refresh();
      if (said) announce(said);
    }
    setMode('status');
    focusSoon('two-step-status');
  }

  return (
    <AccountSection id="two-step" title="Two-step verification">
      {mode === 'status' ? (
        <>
          <p id="two-step-status">
            {on ? <Badge kind="ok">On</Badge> : <Badge>Off</Badge>}{' '}
            {on
              ? 'Signing in asks for your password and a 6-digit code from the authenticator ' +
                'app on your phone.'
              : noPassword
                ? 'Your company login takes care of it.'
                : 'Add a second step to signing in: a 6-digit code from an authenticator app on ' +
                  'your phone, so a stolen password alone is not enough.'}
          </p>
          {me.second_factor_required && !on && !noPassword ? (
            <p class="note note-info">
              One of your agencies requires two-step verification: turn it on to use the console.
            </p>
          ) : null}
          {noPassword ? (
            <p class="note note-info" id="two-step-provider">
              You sign in through your company login, which handles two-step verification for you:
              usher never asks for its own code when you sign in that way. usher&apos;s two-step
              verification protects a password, and your account has none.
            </p>
          ) : null}
          <div class="actions actions-start">
            {on ? (
              <>
                <button type="button" class="button" onClick={() => setMode('codes')}>
                  New recovery codes
                </button>
                <button type="button" class="button" onClick={() => setMode('off')}>
                  Turn off
                </button>
              </>
            ) : noPassword ? null : (
              <button type="button" class="button button-primary" onClick={() => setMode('on')}>
                Turn on
              </button>
            )}
          </div>
        </>
      ) : mode === 'on' ? (
        <div class="account-subform">
          <TotpEnrol onDone={() => finished(true, '')} onCancel={() => finished(false, '')} />
        </div>
      ) : mode === 'codes' ? (
        <NewRecoveryCodes me={me} onDone={() => finished(false, '')} />
      ) : (
        <TurnOff me={me} onDone={(done) => finished(done, 'Two-step verification is off')} />
      )}
    </AccountSection>
  );
}

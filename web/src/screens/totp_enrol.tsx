// Turning on two-step verification, in three steps: the current password (POST /me/totp answers
// a new secret), the QR code and key for an authenticator app with the first code from it
// (totp_scan.tsx), and the ten recovery codes, shown this once (recovery_codes.tsx). One
// component for the Account page's Two-step verification section and for the page an agency's
// requirement puts in front of every screen (second_factor_required.tsx).
import { useRef, useState } from 'preact/hooks';
import { ApiError } from '../api';
import { useSession } from '../session';
import { FormError, TextField, useId } from '../ui';
import { accountError, useFocusError } from './account_kit';
import { RecoveryCodes, StepHeading } from './recovery_codes';
import { Enrolment, ScanStep, sendTotp } from './totp_scan';

interface PasswordProps {
  headingLevel: 2 | 3;
  onStarted: (e: Enrolment) => void;
  onAlready: () => void; // it was turned on meanwhile (in another tab)
  onCancel: () => void;
}

function PasswordStep({ headingLevel, onStarted, onAlready, onCancel }: PasswordProps) {
  const session = useSession();
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const id = useId('totp-password');
  const form = useRef<HTMLFormElement>(null);
  useFocusError(form, error);

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const body = { current_password: password };
      onStarted(await sendTotp<Enrolment>('/me/totp', body, session.refresh));
    } catch (err) {
      setBusy(false);
      if (err instanceof ApiError && err.code === 'second_factor_on') onAlready();
      else setError(accountError(err, session.me));
    }
  }

  return (
    <form ref={form} onSubmit={submit} noValidate aria-labelledby={`${id}-title`}>
      <StepHeading id={`${id}-title`} level={headingLevel} text="Step 1 of 3: confirm it is you" />
      <p>
        Two-step verification asks for a code from an app on your phone each time you sign in, after
        your password. You need an authenticator app, such as Google Authenticator, Microsoft
        Authenticator, 1Password or Aegis.
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
      <FormError error={error} fields={['current_password']} />
      <div class="actions actions-start">
        <button type="submit" class="button button-primary" disabled={busy}>
          {busy ? 'Checking…' : 'Continue'}
        </button>
        <button type="button" class="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

interface TotpEnrolProps {
  // Once it is on and the recovery codes are saved: reload /me and go on.
  onDone: () => void;
  // Leaves before it is turned on; nothing changes.
  onCancel: () => void;
  doneLabel?: string;
  // 2 on a page of its own, 3 inside a section whose heading is level 2.
  headingLevel?: 2 | 3;
}

export function TotpEnrol(props: TotpEnrolProps) {
  const { onDone, onCancel, doneLabel = 'Done', headingLevel = 3 } = props;
  const session = useSession();
  const [enrolment, setEnrolment] = useState<Enrolment | null>(null);
  const [codes, setCodes] = useState<string[] | null>(null);
  const [already, setAlready] = useState(false);

  if (already) {
    return (
      <div>
        <p class="note note-info" role="status">
          Two-step verification is already on for your account.
        </p>
        <div class="actions actions-start">
          <button type="button" class="button button-primary" onClick={onDone}>
            {doneLabel}
          </button>
        </div>
      </div>
    );
  }
  if (codes) {
    return (
      <RecoveryCodes
        codes={codes}
        email={session.me?.user.email ?? null}
        onDone={onDone}
        title="Step 3 of 3: save your recovery codes"
        doneLabel={doneLabel}
        headingLevel={headingLevel}
      />
    );
  }
  if (enrolment) {
    return (
      <ScanStep
        enrolment={enrolment}
        headingLevel={headingLevel}
        onConfirmed={setCodes}
        onCancel={onCancel}
      />
    );
  }
  return (
    <PasswordStep
      headingLevel={headingLevel}
      onStarted={setEnrolment}
      onAlready={() => setAlready(true)}
      onCancel={onCancel}
    />
  );
}

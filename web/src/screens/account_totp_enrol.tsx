// Turning two-step verification on: the current password (POST /me/totp), then the QR code and
// the secret for an authenticator app and the first 6-digit code (POST /me/totp/confirm), then
// the recovery codes, shown once. The QR code is the server's SVG shown as an image from a data:
// address (the CSP allows images from data:, and nothing of the SVG enters the page's DOM).
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, api } from '../api';
import { useSession } from '../session';
import type { Me } from '../types';
import { FormError, TextField, announce, copyText } from '../ui';
import { accountError, useFocusError } from './account_kit';
import { RecoveryCodes } from './account_recovery';

interface Enrolment {
  secret: string;
  otpauth_url: string;
  qr_svg: string;
}

export function svgDataUrl(svg: string): string {
  let binary = '';
  for (const b of new TextEncoder().encode(svg)) binary += String.fromCharCode(b);
  return `data:image/svg+xml;base64,${btoa(binary)}`;
}

// The secret in groups of four, as authenticator apps ask for it to be typed.
export function groupedSecret(secret: string): string {
  return (secret.replace(/\s+/g, '').match(/.{1,4}/g) || []).join(' ');
}

// Calls the API; a 401 that is not about the password or the code means the session is gone.
async function send<T>(method: string, path: string, body: unknown, refresh: () => Promise<unknown>): Promise<T> {
  try {
    return await api<T>(method, path, body, { quietAuth: true });
  } catch (e) {
    if (e instanceof ApiError && e.status === 401 && e.code !== 'invalid_code' && e.code !== 'invalid_credentials') await refresh();
    throw e;
  }
}

function useFocusOnMount(ref: { current: HTMLElement | null }) {
  useEffect(() => ref.current?.focus(), [ref]);
}

function PasswordStep({ me, onStarted, onCancel }: { me: Me; onStarted: (e: Enrolment) => void; onCancel: () => void }) {
  const session = useSession();
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const form = useRef<HTMLFormElement>(null);
  const heading = useRef<HTMLHeadingElement>(null);
  useFocusOnMount(heading);
  useFocusError(form, error);

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onStarted(await send<Enrolment>('POST', '/me/totp', { current_password: password }, session.refresh));
    } catch (err) {
      setError(accountError(err, me));
      setBusy(false);
    }
  }

  return (
    <form ref={form} onSubmit={submit} noValidate aria-labelledby="totp-step-title" class="account-subform">
      <h3 id="totp-step-title" ref={heading} tabIndex={-1}>
        Step 1 of 3: confirm it is you
      </h3>
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

function ScanStep({ me, enrolment, onConfirmed, onCancel }: { me: Me; enrolment: Enrolment; onConfirmed: (codes: string[]) => void; onCancel: () => void }) {
  const session = useSession();
  const [code, setCode] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [copied, setCopied] = useState(false);
  const form = useRef<HTMLFormElement>(null);
  const heading = useRef<HTMLHeadingElement>(null);
  useFocusOnMount(heading);
  useFocusError(form, error);

  async function submit(e: Event) {
    e.preventDefault();
    const digits = code.replace(/\s+/g, '');
    if (!/^\d{6}$/.test(digits)) {
      setError(new ApiError(400, 'invalid_input', 'Enter the 6 digits your app shows for usher.', 'code', null));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const answer = await send<{ recovery_codes: string[] }>('POST', '/me/totp/confirm', { code: digits }, session.refresh);
      onConfirmed(answer.recovery_codes || []);
    } catch (err) {
      setError(accountError(err, me, { invalid_code: 'code' }));
      setBusy(false);
    }
  }

  async function copySecret() {
    if (await copyText(enrolment.secret)) {
      setCopied(true);
    } else announce('Copying is not available here: type the key into your app', 'error');
  }

  return (
    <form ref={form} onSubmit={submit} noValidate aria-labelledby="totp-step-title" class="account-subform">
      <h3 id="totp-step-title" ref={heading} tabIndex={-1}>
        Step 2 of 3: add usher to your authenticator app
      </h3>
      <p>Scan this QR code with an authenticator app on your phone (such as Google Authenticator, Microsoft Authenticator, 1Password or Aegis).</p>
      <img class="qr" src={svgDataUrl(enrolment.qr_svg)} alt={`QR code that adds usher (${me.user.email}) to an authenticator app`} width={200} height={200} />
      <p>Cannot scan it? Enter this key in the app instead (time-based):</p>
      <div class="secret">
        <code class="totp-secret">
          {groupedSecret(enrolment.secret)}
        </code>
        <button type="button" class="button button-small" onClick={copySecret}>
          Copy key
        </button>
        {copied ? (
          <span class="copied" role="status">
            Copied
          </span>
        ) : null}
      </div>
      <TextField
        label="6-digit code from the app"
        name="code"
        value={code}
        onValue={setCode}
        required
        inputMode="numeric"
        autoComplete="one-time-code"
        hint="The app shows a new code every 30 seconds."
        error={error}
      />
      <FormError error={error} fields={['code']} />
      <div class="actions actions-start">
        <button type="submit" class="button button-primary" disabled={busy}>
          {busy ? 'Checking…' : 'Turn on'}
        </button>
        <button type="button" class="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

// The three steps; onFinished runs once the codes are saved (or the person cancels).
export function TotpEnrol({ me, onFinished }: { me: Me; onFinished: (turnedOn: boolean) => void }) {
  const [enrolment, setEnrolment] = useState<Enrolment | null>(null);
  const [codes, setCodes] = useState<string[] | null>(null);
  if (codes) return <RecoveryCodes codes={codes} email={me.user.email} onDone={() => onFinished(true)} />;
  if (enrolment)
    return (
      <ScanStep
        me={me}
        enrolment={enrolment}
        onConfirmed={setCodes}
        onCancel={() => onFinished(false)}
      />
    );
  return <PasswordStep me={me} onStarted={setEnrolment} onCancel={() => onFinished(false)} />;
}

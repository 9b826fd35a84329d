// The second step of turning on two-step verification (totp_enrol.tsx): the new secret as a QR
// code and as a key to type, and the first 6-digit code from the app (POST /me/totp/confirm),
// which turns it on and answers the ten recovery codes. The QR code is the server's SVG shown as
// an image from a data: address: the CSP allows images from data:, and no markup from the
// server enters the page's DOM.
import { useRef, useState } from 'preact/hooks';
import { ApiError, api } from '../api';
import { useSession } from '../session';
import { FormError, IconClipboard, TextField, announce, copyText, useId } from '../ui';
import { accountError, useFocusError } from './account_kit';
import { StepHeading } from './recovery_codes';

export interface Enrolment {
  secret: string;
  otpauth_url: string;
  qr_svg: string;
}

// The secret in groups of four, as authenticator apps ask for it to be typed.
export function groupsOfFour(secret: string): string {
  return (secret.replace(/\s+/g, '').match(/.{1,4}/g) || []).join(' ');
}

function svgImage(svg: string): string {
  let binary = '';
  for (const b of new TextEncoder().encode(svg)) binary += String.fromCharCode(b);
  return `data:image/svg+xml;base64,${btoa(binary)}`;
}

// Calls one of the enrolment routes; a 401 that is not about the password or the code means
// the session is gone, and refreshing it shows the sign-in page.
export async function sendTotp<T>(path: string, body: unknown, refresh: () => Promise<unknown>) {
  try {
    return await api<T>('POST', path, body, { quietAuth: true });
  } catch (e) {
    const ours = e instanceof ApiError && ['invalid_code', 'invalid_credentials'].includes(e.code);
    if (e instanceof ApiError && e.status === 401 && !ours) await refresh();
    throw e;
  }
}

interface ScanProps {
  enrolment: Enrolment;
  headingLevel: 2 | 3;
  onConfirmed: (codes: string[]) => void;
  onCancel: () => void;
}

export function ScanStep({ enrolment, headingLevel, onConfirmed, onCancel }: ScanProps) {
  const session = useSession();
  const [code, setCode] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [copied, setCopied] = useState(false);
  const id = useId('totp-scan');
  const form = useRef<HTMLFormElement>(null);
  useFocusError(form, error);

  async function copySecret() {
    if (await copyText(enrolment.secret)) setCopied(true);
    else announce('Copying is not available here: type the key into your app', 'error');
  }

  async function submit(e: Event) {
    e.preventDefault();
    const digits = code.replace(/[\s-]/g, '');
    if (!/^[0-9]{6}$/.test(digits)) {
      const text = 'Enter the 6 digits your app shows for usher.';
      setError(new ApiError(400, 'invalid_input', text, 'code', null));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const body = { code: digits };
      type Answer = { recovery_codes: string[] };
      const answer = await sendTotp<Answer>('/me/totp/confirm', body, session.refresh);
      onConfirmed(answer.recovery_codes || []);
    } catch (err) {
      setError(accountError(err, session.me, { invalid_code: 'code' }));
      setBusy(false);
    }
  }

  return (
    <form ref={form} onSubmit={submit} noValidate aria-labelledby={`${id}-title`}>
      <StepHeading
        id={`${id}-title`}
        level={headingLevel}
        text="Step 2 of 3: add usher to your app"
      />
      <p>
        In your authenticator app, add an account and scan this QR code with your phone's camera.
      </p>
      <img
        class="totp-qr"
        src={svgImage(enrolment.qr_svg)}
        alt="QR code that adds usher to an authenticator app"
        width={200}
        height={200}
      />
      <p id={`${id}-key`}>
        Cannot scan it? Choose to enter a setup key in the app and type this key (time-based):
      </p>
      <div class="secret">
        <code id={`${id}-secret`} class="totp-secret" aria-labelledby={`${id}-key ${id}-secret`}>
          {groupsOfFour(enrolment.secret)}
        </code>
        <button type="button" class="button button-small" onClick={copySecret}>
          <IconClipboard /> Copy key
        </button>
        {copied ? (
          <span class="inline-ok" role="status">
            Copied
          </span>
        ) : null}
      </div>
      <div class="totp-code">
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
      </div>
      <FormError error={error} fields={['code']} />
      <div class="actions actions-start">
        <button type="submit" class="button button-primary" disabled={busy}>
          {busy ? 'Checking…' : 'Turn on two-step verification'}
        </button>
        <button type="button" class="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

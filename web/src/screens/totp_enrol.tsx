// Turning on two-step verification, in three steps: the current password (POST /me/totp
// answers a new secret, as a QR code and as text), a code from the authenticator app
// (POST /me/totp/confirm turns it on and answers ten recovery codes), and the recovery codes,
// shown this once, with Copy, Download .txt and "I have saved them" before going on. A
// component of its own, for the page an agency's requirement puts in front of every screen and
// any other screen that turns two-step verification on.
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, post } from '../api';
import { FormError, IconClipboard, TextField, announce, copyText, useId } from '../ui';

interface Enrolment {
  secret: string;
  otpauth_url: string;
  qr_svg: string;
}

// The secret as people type it: groups of four.
export function groupsOfFour(secret: string): string {
  return (secret.replace(/\s+/g, '').match(/.{1,4}/g) || []).join(' ');
}

// An SVG as an image address: no markup from the server enters the page's DOM.
function svgImage(svg: string): string {
  const bytes = new TextEncoder().encode(svg);
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return `data:image/svg+xml;base64,${btoa(binary)}`;
}

// The heading of a step takes the focus when the step appears, so a screen reader hears it.
function StepHeading({ text }: { text: string }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    ref.current?.focus({ preventScroll: false });
  }, [text]);
  return (
    <h2 ref={ref} tabIndex={-1}>
      {text}
    </h2>
  );
}

interface PasswordStepProps {
  onStarted: (e: Enrolment) => void;
  onAlready: () => void; // it was turned on meanwhile (another tab)
  onCancel?: () => void;
}

function PasswordStep({ onStarted, onAlready, onCancel }: PasswordStepProps) {
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const form = useRef<HTMLFormElement>(null);

  useEffect(() => {
    if (!error || !form.current) return;
    const target =
      form.current.querySelector<HTMLElement>('[aria-invalid="true"]') || form.current.querySelector<HTMLElement>('.note-error');
    if (target && !target.matches('input')) target.tabIndex = -1;
    target?.focus();
  }, [error]);

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onStarted(await post<Enrolment>('/me/totp', { current_password: password }, { quietAuth: true }));
    } catch (err) {
      setBusy(false);
      if (err instanceof ApiError && err.code === 'second_factor_on') {
        onAlready();
      } else if (err instanceof ApiError && err.code === 'invalid_credentials') {
        setError(new ApiError(err.status, err.code, 'That is not your current password.', 'current_password', err.requestId));
      } else if (err instanceof ApiError && err.status === 429) {
        const wait = err.retryAfter || 60;
        setError(new ApiError(429, err.code, `Too many tries. Wait ${wait} seconds and try again.`, null, err.requestId));
      } else {
        setError(err);
      }
    }
  }

  return (
    <form ref={form} onSubmit={submit} noValidate>
      <StepHeading text="Step 1 of 3: confirm it is you" />
      <p>
        Two-step verification asks for a code from an app on your phone each time you sign in, after your password. You
        need an authenticator app, such as Google Authenticator, Microsoft Authenticator, 1Password or Aegis.
      </p>
      <TextField
        label="Your current password"
        name="current_password"
        type="password"
        value={password}
        onValue={setPassword}
        required
        autoComplete="current-password"
        error={error}
      />
      <FormError error={error} fields={['current_password']} />
      <div class="actions">
        {onCancel ? (
          <button type="button" class="button" onClick={onCancel}>
            Cancel
          </button>
        ) : null}
        <button type="submit" class="button button-primary" disabled={busy}>
          {busy ? 'Checking…' : 'Continue'}
        </button>
      </div>
    </form>
  );
}

function ScanStep({ enrolment, onConfirmed, onCancel }: { enrolment: Enrolment; onConfirmed: (codes: string[]) => void; onCancel?: () => void }) {
  const [code, setCode] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const secretId = useId('totp-secret');
  const form = useRef<HTMLFormElement>(null);

  useEffect(() => {
    if (!error || !form.current) return;
    const target =
      form.current.querySelector<HTMLElement>('[aria-invalid="true"]') || form.current.querySelector<HTMLElement>('.note-error');
    if (target && !target.matches('input')) target.tabIndex = -1;
    target?.focus();
  }, [error]);

  async function copySecret() {
    if (await copyText(enrolment.secret)) announce('The key was copied');
    else announce('The clipboard is not available: type the key as it is shown', 'error');
  }

  async function submit(e: Event) {
    e.preventDefault();
    const digits = code.replace(/[\s-]/g, '');
    if (!/^[0-9]{6}$/.test(digits)) {
      setError(new ApiError(400, 'invalid_code', 'Enter the 6 digits your authenticator app shows for usher.', 'code', null));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const answer = await post<{ recovery_codes: string[] }>('/me/totp/confirm', { code: digits }, { quietAuth: true });
      onConfirmed(answer.recovery_codes);
    } catch (err) {
      setBusy(false);
      if (err instanceof ApiError && err.code === 'invalid_code') {
        setError(
          new ApiError(
            err.status,
            err.code,
            'That code is not right. Check that the app shows usher with your email, and enter the code it shows now.',
            'code',
            err.requestId,
          ),
        );
      } else if (err instanceof ApiError && err.status === 429) {
        setError(new ApiError(429, err.code, `Too many tries. Wait ${err.retryAfter || 60} seconds and try again.`, null, err.requestId));
      } else {
        setError(err);
      }
    }
  }

  return (
    <form ref={form} onSubmit={submit} noValidate>
      <StepHeading text="Step 2 of 3: add usher to your app" />
      <p>In your authenticator app, add an account and scan this QR code with your phone's camera.</p>
      <img class="totp-qr" src={svgImage(enrolment.qr_svg)} alt="QR code that adds usher to an authenticator app" width={200} height={200} />
      <p id={`${secretId}-label`}>Cannot scan it? Choose to enter a setup key in the app and type this key (time-based):</p>
      <div class="secret">
        <code id={secretId} class="totp-secret" aria-labelledby={`${secretId}-label ${secretId}`}>
          {groupsOfFour(enrolment.secret)}
        </code>
        <button type="button" class="button button-small" onClick={copySecret}>
          <IconClipboard /> Copy the key
        </button>
      </div>
      <div class="totp-code">
        <TextField
          label="Enter the 6-digit code the app now shows"
          name="code"
          value={code}
          onValue={setCode}
          required
          inputMode="numeric"
          autoComplete="one-time-code"
          error={error}
        />
      </div>
      <FormError error={error} fields={['code']} />
      <div class="actions">
        {onCancel ? (
          <button type="button" class="button" onClick={onCancel}>
            Cancel
          </button>
        ) : null}
        <button type="submit" class="button button-primary" disabled={busy}>
          {busy ? 'Checking…' : 'Turn on two-step verification'}
        </button>
      </div>
    </form>
  );
}

function CodesStep({ codes, onDone, doneLabel }: { codes: string[]; onDone: () => void; doneLabel: string }) {
  const [saved, setSaved] = useState(false);
  const [download, setDownload] = useState<string | null>(null);
  const checkId = useId('codes-saved');
  const text = `usher recovery codes\nEach code works once, in place of a code from your authenticator app.\n\n${codes.join('\n')}\n`;

  useEffect(() => {
    const url = URL.createObjectURL(new Blob([text], { type: 'text/plain' }));
    setDownload(url);
    return () => URL.revokeObjectURL(url);
  }, [text]);

  async function copy() {
    if (await copyText(codes.join('\n'))) announce('The recovery codes were copied');
    else announce('The clipboard is not available: download the codes or write them down', 'error');
  }

  return (
    <div>
      <StepHeading text="Step 3 of 3: save your recovery codes" />
      <p class="note note-ok" role="status">
        Two-step verification is on.
      </p>
      <p>
        If you lose your phone, each of these codes lets you sign in once instead of a code from the app. Keep them
        somewhere safe, such as a password manager. <strong>They are shown only now.</strong>
      </p>
      <ol class="recovery-codes" aria-label="Recovery codes">
        {codes.map((c) => (
          <li key={c}>
            <code>{c}</code>
          </li>
        ))}
      </ol>
      <div class="actions actions-start">
        <button type="button" class="button" onClick={copy}>
          <IconClipboard /> Copy
        </button>
        {download ? (
          <a class="button" href={download} download="usher-recovery-codes.txt">
            Download .txt
          </a>
        ) : null}
      </div>
      <div class="check check-confirm">
        <input id={checkId} type="checkbox" checked={saved} onChange={(e) => setSaved((e.currentTarget as HTMLInputElement).checked)} />
        <label for={checkId}>I have saved them</label>
      </div>
      <div class="actions">
        <button type="button" class="button button-primary" disabled={!saved} onClick={onDone}>
          {doneLabel}
        </button>
      </div>
    </div>
  );
}

interface TotpEnrolProps {
  // After the recovery codes were saved: reload /me and go on.
  onDone: () => void;
  // Leaves before it is turned on (nothing changes), where leaving is allowed.
  onCancel?: () => void;
  doneLabel?: string;
}

export function TotpEnrol({ onDone, onCancel, doneLabel = 'Done' }: TotpEnrolProps) {
  const [enrolment, setEnrolment] = useState<Enrolment | null>(null);
  const [codes, setCodes] = useState<string[] | null>(null);
  const [already, setAlready] = useState(false);

  if (already) {
    return (
      <div>
        <p class="note note-info" role="status">
          Two-step verification is already on for your account.
        </p>
        <div class="actions">
          <button type="button" class="button button-primary" onClick={onDone}>
            {doneLabel}
          </button>
        </div>
      </div>
    );
  }
  if (codes) return <CodesStep codes={codes} onDone={onDone} doneLabel={doneLabel} />;
  if (enrolment) return <ScanStep enrolment={enrolment} onConfirmed={setCodes} onCancel={onCancel} />;
  return <PasswordStep onStarted={setEnrolment} onAlready={() => setAlready(true)} onCancel={onCancel} />;
}

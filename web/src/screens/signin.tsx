// Sign in, email first: POST /sign-in/discover says from the address's domain whether the
// person signs in with a password here (POST /sessions, then a code when the account has
// two-step verification: signin_code.tsx) or through their company's login (a full-page
// navigation to the start URL the server gives), then back to where they were going. A server
// without company sign-in answers discover 404, and the password step follows.
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, post, withQuery } from '../api';
import { Link, navigate, useLocation } from '../router';
import { useSession } from '../session';
import type { SessionAnswer, SignInMethod } from '../types';
import { FormError, PageTitle, TextField, useFocusFirstError } from '../ui';
import { SecondStep } from './signin_code';

// Only a path of this console: never an address elsewhere.
export function safeNext(next: string | null): string {
  return next && next.startsWith('/') && !next.startsWith('//') ? next : '/';
}

// The start URL of a company sign-in, with where to come back to; only a path of this server.
export function companyStartUrl(startUrl: string, next: string): string | null {
  if (!startUrl.startsWith('/api/v1/oidc/start')) return null;
  return next === '/' ? startUrl : withQuery(startUrl, { return_to: next });
}

type Step =
  { kind: 'email' } | { kind: 'password' } | { kind: 'company'; name: string; url: string };

export function SignIn() {
  const session = useSession();
  const { query } = useLocation();
  const next = safeNext(query.get('next'));
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [step, setStep] = useState<Step>({ kind: 'email' });
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const passwordBox = useRef<HTMLDivElement>(null);
  const companyButton = useRef<HTMLAnchorElement>(null);
  const emailBox = useRef<HTMLDivElement>(null);
  const [mfaToken, setMfaToken] = useState<string | null>(null);
  const form = useRef<HTMLFormElement>(null);
  // A refusal takes the focus (its field, or the note that says it), so it is heard and seen.
  useFocusFirstError(form, error);

  useEffect(() => {
    if (session.status === 'ready') navigate(next, { replace: true });
  }, [session.status, next]);

  // Each step puts the focus where the person goes on: the password, the company button, or
  // back on the address.
  useEffect(() => {
    if (step.kind === 'password')
      passwordBox.current?.querySelector<HTMLInputElement>('input[type=password]')?.focus();
    else if (step.kind === 'company') companyButton.current?.focus();
  }, [step.kind]);

  function restart() {
    setStep({ kind: 'email' });
    setPassword('');
    setError(null);
    setTimeout(() => emailBox.current?.querySelector<HTMLInputElement>('input')?.focus(), 0);
  }

  async function discover(e: Event) {
    e.preventDefault();
    const address = email.trim();
    if (!/^[^\s@]+@[^\s@]+$/.test(address)) {
      setError(
        new ApiError(
          400,
          'invalid_input',
          'Enter your email address, like name@example.com.',
          'email',
          null,
        ),
      );
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const method = await post<SignInMethod>(
        '/sign-in/discover',
        { email: address },
        { quietAuth: true },
      );
      const url =
        method.method === 'oidc' && method.start_url
          ? companyStartUrl(method.start_url, next)
          : null;
      if (url)
        setStep({ kind: 'company', name: method.connection_name || 'your company login', url });
      else setStep({ kind: 'password' });
    } catch (err) {
      // A server without company sign-in: everyone signs in with a password.
      if (err instanceof ApiError && err.isMissingRoute) setStep({ kind: 'password' });
      else setError(err);
    }
    setBusy(false);
  }

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const answer = await post<SessionAnswer>(
        '/sessions',
        { email: email.trim(), password },
        { quietAuth: true },
      );
      if (answer.mfa_required && answer.mfa_token) {
        // No session yet: the code comes next. The password is not kept.
        setPassword('');
        setMfaToken(answer.mfa_token);
        setBusy(false);
        return;
      }
      await session.started(answer);
      navigate(next, { replace: true });
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  }

  if (mfaToken) {
    return (
      <section class="page page-narrow">
        <div class="card">
          <SecondStep
            mfaToken={mfaToken}
            onSignedIn={async (answer) => {
              await session.started(answer);
              navigate(next, { replace: true });
            }}
            onRestart={() => {
              setMfaToken(null);
              setError(null);
            }}
          />
        </div>
      </section>
    );
  }

  const changeAddress = (
    <p class="signin-as">
      <span>
        Signing in as <strong>{email.trim()}</strong>
      </span>
      <button type="button" class="button-link" onClick={restart}>
        Use another email
      </button>
    </p>
  );

  return (
    <section class="page page-narrow">
      <div class="card">
        <PageTitle text="Sign in" />
        {step.kind === 'email' ? (
          <form ref={form} onSubmit={discover} noValidate>
            <div ref={emailBox}>
              <TextField
                label="Email"
                name="email"
                type="email"
                value={email}
                onValue={setEmail}
                required
                autoComplete="username"
                error={error}
              />
            </div>
            <FormError error={error} fields={['email']} />
            <div class="actions">
              <button type="submit" class="button button-primary" disabled={busy}>
                {busy ? 'Checking…' : 'Continue'}
              </button>
            </div>
          </form>
        ) : step.kind === 'password' ? (
          <form ref={form} onSubmit={submit} noValidate>
            {changeAddress}
            {/* The address again, unseen, for password managers: they save and fill the pair. */}
            <input
              type="email"
              name="email"
              value={email.trim()}
              autoComplete="username"
              readOnly
              hidden
            />
            <div ref={passwordBox}>
              <TextField
                label="Password"
                name="password"
                type="password"
                value={password}
                onValue={setPassword}
                required
                autoComplete="current-password"
                error={error}
              />
            </div>
            <FormError error={error} fields={['password']} />
            <p class="small">
              <Link href="/password-reset">Forgot password?</Link>
            </p>
            <div class="actions">
              <button type="submit" class="button button-primary" disabled={busy}>
                {busy ? 'Signing in…' : 'Sign in'}
              </button>
            </div>
          </form>
        ) : (
          <div>
            {changeAddress}
            <p>
              Your organisation signs you in with its own login. You will come back here once it
              knows you.
            </p>
            <div class="actions actions-start">
              <a ref={companyButton} class="button button-primary" href={step.url}>
                Continue with {step.name}
              </a>
            </div>
          </div>
        )}
        {step.kind === 'company' ? null : (
          <p class="muted small signin-foot">
            Invited by email? Open the link in the invitation to set your password.
          </p>
        )}
      </div>
    </section>
  );
}

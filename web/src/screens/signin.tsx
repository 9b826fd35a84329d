// Sign in with email and password (POST /sessions), and with a code when the account has
// two-step verification (signin_code.tsx), then back to where the person was going.
import { useEffect, useState } from 'preact/hooks';
import { post } from '../api';
import { Link, navigate, useLocation } from '../router';
import { useSession } from '../session';
import type { SessionAnswer } from '../types';
import { FormError, PageTitle, TextField } from '../ui';
import { SecondStep } from './signin_code';

// Only a path of this console: never an address elsewhere.
export function safeNext(next: string | null): string {
  return next && next.startsWith('/') && !next.startsWith('//') ? next : '/';
}

export function SignIn() {
  const session = useSession();
  const { query } = useLocation();
  const next = safeNext(query.get('next'));
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [mfaToken, setMfaToken] = useState<string | null>(null);

  useEffect(() => {
    if (session.status === 'ready') navigate(next, { replace: true });
  }, [session.status, next]);

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const answer = await post<SessionAnswer>('/sessions', { email, password }, { quietAuth: true });
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

  return (
    <section class="page page-narrow">
      <div class="card">
        <PageTitle text="Sign in" />
        <form onSubmit={submit} noValidate>
          <TextField label="Email" name="email" type="email" value={email} onValue={setEmail} required autoComplete="username" error={error} />
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
          <FormError error={error} fields={['email', 'password']} />
          <p class="small">
            <Link href="/password-reset">Forgot password?</Link>
          </p>
          <div class="actions">
            <button type="submit" class="button button-primary" disabled={busy}>
              {busy ? 'Signing in…' : 'Sign in'}
            </button>
          </div>
        </form>
        <p class="muted small">Invited by email? Open the link in the invitation to set your password.</p>
      </div>
    </section>
  );
}

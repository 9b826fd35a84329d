// Password recovery. /password-reset asks for a link by email and says the same thing whatever
// the address (the server tells nobody which addresses have an account). The emailed link,
// /password-reset#token=…, carries its token in the fragment, so it never reaches a server log;
// the page reads it, drops it from the address bar and history, and lets the person choose a
// new password, which signs them in. Used or expired links get a page saying how to get another.
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, post } from '../api';
import { PasswordChoice, usePasswordChoice } from '../password_choice';
import { Link, navigate } from '../router';
import { useSession } from '../session';
import type { SessionAnswer } from '../types';
import { FormError, PageTitle, TextField, announce } from '../ui';
import { useFocusError } from './account_kit';
import { SecondStep } from './signin_code';

function tokenFromFragment(): string {
  const m = /(?:^#|&)token=([A-Za-z0-9_-]+)/.exec(location.hash);
  return m ? m[1] : '';
}

// Removes the fragment from the address bar and from this history entry, so the token is not
// left on screen, in the back button or in a copied address.
function forgetFragment(): void {
  if (location.hash) history.replaceState(history.state, '', location.pathname + location.search);
}

function RequestLink() {
  const [email, setEmail] = useState('');
  const [sentTo, setSentTo] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const form = useRef<HTMLFormElement>(null);
  useFocusError(form, error);

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await post('/password-resets', { email }, { quietAuth: true });
      setSentTo(email.trim());
    } catch (err) {
      setError(err);
    }
    setBusy(false);
  }

  if (sentTo !== null) {
    return (
      <div class="card">
        <PageTitle text="Check your email" />
        <p role="status">
          If an account exists for <strong>{sentTo}</strong>, we sent a link to choose a new
          password. It works once, within 30 minutes. If nothing arrives in a few minutes, check the
          spam folder or ask again.
        </p>
        <div class="actions">
          <button
            type="button"
            class="button"
            onClick={() => {
              setSentTo(null);
              setError(null);
            }}
          >
            Ask again
          </button>
          <Link href="/signin" class="button button-primary">
            Back to sign in
          </Link>
        </div>
      </div>
    );
  }

  return (
    <div class="card">
      <PageTitle text="Forgot your password?" />
      <p>
        Enter the email address you sign in with. If it belongs to an account, we will send it a
        link to choose a new password.
      </p>
      <form ref={form} onSubmit={submit} noValidate>
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
        <FormError error={error} fields={['email']} />
        <div class="actions">
          <Link href="/signin" class="button">
            Back to sign in
          </Link>
          <button type="submit" class="button button-primary" disabled={busy}>
            {busy ? 'Sending…' : 'Send the link'}
          </button>
        </div>
      </form>
    </div>
  );
}

function LinkEnded({ onAskAgain }: { onAskAgain: () => void }) {
  return (
    <div class="card">
      <PageTitle text="This link has expired" />
      <p>
        The link has already been used, was replaced by a newer one, or is older than 30 minutes.
        Your password has not been changed by it.
      </p>
      <p>
        <a
          href="/password-reset"
          class="button button-primary"
          onClick={(e) => {
            e.preventDefault();
            onAskAgain();
          }}
        >
          Ask for a new link
        </a>
      </p>
    </div>
  );
}

function ChoosePassword({ token, onEnded }: { token: string; onEnded: () => void }) {
  const session = useSession();
  const choice = usePasswordChoice('password', 'New password');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [mfaToken, setMfaToken] = useState<string | null>(null);
  const form = useRef<HTMLFormElement>(null);
  useFocusError(form, error);

  async function submit(e: Event) {
    e.preventDefault();
    const differ = choice.mismatch();
    if (differ) {
      setError(differ);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      // The answer is a new session, as from signing in: its CSRF token, then /me.
      const answer = await post<SessionAnswer>(
        '/password-resets/confirm',
        { token, password: choice.value },
        { quietAuth: true },
      );
      if (answer.mfa_required && answer.mfa_token) {
        // The password is changed; the account's second factor still stands before a session.
        choice.clear();
        setMfaToken(answer.mfa_token);
        return;
      }
      await session.started(answer);
      announce('Your password was changed and you are signed in');
      navigate('/', { replace: true });
    } catch (err) {
      if (err instanceof ApiError && err.code === 'password_reset_expired') {
        onEnded();
        return;
      }
      setError(err);
      setBusy(false);
    }
  }

  if (mfaToken) {
    return (
      <div class="card">
        <SecondStep
          mfaToken={mfaToken}
          intro="Your new password is set. Your account has two-step verification: finish signing in with a code."
          restartLabel="Sign in with the new password"
          onSignedIn={async (answer) => {
            await session.started(answer);
            announce('Your password was changed and you are signed in');
            navigate('/', { replace: true });
          }}
          onRestart={() => navigate('/signin')}
        />
      </div>
    );
  }

  return (
    <div class="card">
      <PageTitle text="Choose a new password" />
      <p>Choosing a new password signs out every session of your account and signs you in here.</p>
      <form ref={form} onSubmit={submit} noValidate>
        <PasswordChoice choice={choice} error={error} email="" names={[]} />
        <FormError error={error} fields={['password', 'password_repeat']} />
        <div class="actions">
          <button type="submit" class="button button-primary" disabled={busy}>
            {busy ? 'Setting the password…' : 'Set the new password'}
          </button>
        </div>
      </form>
    </div>
  );
}

export function PasswordReset() {
  const [token, setToken] = useState(tokenFromFragment);
  const [ended, setEnded] = useState(false);

  // The token lives only in this component's state from here on.
  useEffect(() => {
    forgetFragment();
    // Another link pasted into this tab changes only the fragment: no page load, a new token.
    const onHash = () => {
      const t = tokenFromFragment();
      forgetFragment();
      if (t) {
        setToken(t);
        setEnded(false);
      }
    };
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);

  const askAgain = () => {
    setToken('');
    setEnded(false);
  };

  return (
    <section class="page page-narrow">
      {ended ? (
        <LinkEnded onAskAgain={askAgain} />
      ) : token ? (
        <ChoosePassword key={token} token={token} onEnded={() => setEnded(true)} />
      ) : (
        <RequestLink />
      )}
    </section>
  );
}

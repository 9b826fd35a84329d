// The invitation landing page (/invitations/accept#token=…): the token is read from the
// fragment, so it never reaches a server log; the page shows what the invitation offers and
// lets a new user set a password, or a signed-in user accept, or anyone decline; an invitation
// that requires the agency's company sign-in is accepted through that login instead. Used,
// expired and withdrawn links get a page of their own saying whom to ask.
import { useEffect, useState } from 'preact/hooks';
import { ApiError, post, withQuery } from '../api';
import { day, when } from '../format';
import { PasswordStrength } from '../password_strength';
import { Link, navigate } from '../router';
import { useSession } from '../session';
import type { InvitationFacts } from '../types';
import { FormError, Loading, PageTitle, TextField, announce, useId } from '../ui';
import { GrantList } from './grants';

function tokenFromFragment(): string {
  const m = /(?:^#|&)token=([A-Za-z0-9_-]+)/.exec(location.hash);
  return m ? m[1] : '';
}

function askWhom(f: InvitationFacts): string {
  return f.inviter?.name
    ? `${f.inviter.name} at ${f.agency.name}`
    : `a manager at ${f.agency.name}`;
}

function Ended({ facts }: { facts: InvitationFacts }) {
  const ask = askWhom(facts);
  const text: Record<string, { title: string; body: string }> = {
    expired: {
      title: 'This invitation has expired',
      body: `It was valid until ${when(facts.expires_at)}. Ask ${ask} to send you a new one.`,
    },
    revoked: {
      title: 'This invitation was withdrawn',
      body: `The link no longer works. If you still need access, ask ${ask} for a new invitation.`,
    },
    accepted: {
      title: 'This invitation has already been used',
      body: `It was accepted, so the link no longer works. Sign in with ${facts.email} to reach ${facts.agency.name}.`,
    },
    declined: {
      title: 'This invitation was declined',
      body: `If that was a mistake, ask ${ask} to invite you again.`,
    },
  };
  const t = text[facts.status] || {
    title: 'This invitation cannot be used',
    body: `Ask ${ask} for a new invitation.`,
  };
  return (
    <div class="card">
      <PageTitle text={t.title} />
      <p>{t.body}</p>
      {facts.status === 'accepted' ? (
        <p>
          <Link href="/signin" class="button button-primary">
            Sign in
          </Link>
        </p>
      ) : null}
    </div>
  );
}

export function AcceptInvitation() {
  const session = useSession();
  const [token, setToken] = useState(tokenFromFragment);
  const [facts, setFacts] = useState<InvitationFacts | null>(null);
  const [lookupError, setLookupError] = useState<ApiError | null>(null);
  const [first, setFirst] = useState('');
  const [last, setLast] = useState('');
  const [password, setPassword] = useState('');
  const [repeat, setRepeat] = useState('');
  const [signInPassword, setSignInPassword] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [declined, setDeclined] = useState(false);
  const strengthId = useId('password-strength');

  // Another link pasted into this tab changes only the fragment: no page load, a new token.
  useEffect(() => {
    const onHash = () => {
      const t = tokenFromFragment();
      if (t) setToken(t);
    };
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);

  useEffect(() => {
    setFacts(null);
    setLookupError(null);
    setError(null);
    setDeclined(false);
    setBusy(false);
    if (!token) return;
    post<InvitationFacts>('/invitations/lookup', { token }, { quietAuth: true }).then(
      (f) => {
        setFacts(f);
        setFirst(f.first_name || '');
        setLast(f.last_name || '');
      },
      (e) =>
        setLookupError(e instanceof ApiError ? e : new ApiError(0, 'error', String(e), null, null)),
    );
  }, [token]);

  if (!token) {
    return (
      <section class="page page-narrow">
        <div class="card">
          <PageTitle text="No invitation in this link" />
          <p>
            Open the link exactly as it is in your invitation email: the part after the{' '}
            <code>#</code> is needed. If you copied it by hand, ask the person who invited you to
            copy the link for you again.
          </p>
        </div>
      </section>
    );
  }
  if (lookupError) {
    const invalid =
      lookupError.code === 'invitation_not_found' ||
      lookupError.status === 404 ||
      lookupError.field === 'token';
    return (
      <section class="page page-narrow">
        <div class="card">
          <PageTitle text={invalid ? 'This link does not work' : 'The invitation cannot be read'} />
          <p>
            {invalid
              ? 'It may have been replaced by a newer invitation. Ask the person who invited you to send it again or to copy you the current link.'
              : lookupError.message}
          </p>
        </div>
      </section>
    );
  }
  if (!facts || session.status === 'loading') return <Loading what="Reading the invitation" />;
  if (declined) {
    return (
      <section class="page page-narrow">
        <div class="card">
          <PageTitle text="Invitation declined" />
          <p>You declined the invitation to {facts.agency.name}. Nothing was created for you.</p>
        </div>
      </section>
    );
  }
  if (facts.status !== 'pending') {
    return (
      <section class="page page-narrow">
        <Ended facts={facts} />
      </section>
    );
  }

  const me = session.me;
  // An invitation to accept through the agency's company sign-in: no password form, only the
  // way to the company login, which accepts it on the way back.
  const oauthStart =
    facts.sign_in === 'oauth' && facts.connection_id
      ? withQuery('/api/v1/oidc/start', { connection_id: facts.connection_id, invitation: token })
      : null;
  const sameEmail = me && me.user.email.toLowerCase() === facts.email.toLowerCase();

  async function finish(answer: { csrf_token?: string } | undefined) {
    if (answer?.csrf_token) await session.started(answer);
    else await session.refresh();
    announce(`Welcome to ${facts!.agency.name}`);
    navigate('/', { replace: true });
  }

  async function run(action: () => Promise<void>) {
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (e) {
      // The facts may have changed meanwhile (expired, revoked, used): show their page.
      if (
        e instanceof ApiError &&
        ['invitation_expired', 'invitation_not_pending'].includes(e.code)
      ) {
        const f = await post<InvitationFacts>(
          '/invitations/lookup',
          { token },
          { quietAuth: true },
        ).catch(() => null);
        if (f) setFacts(f);
      }
      setError(e);
      setBusy(false);
    }
  }

  const createAccount = (e: Event) => {
    e.preventDefault();
    if (password !== repeat) {
      setError(
        new ApiError(400, 'invalid_input', 'the two passwords differ', 'password_repeat', null),
      );
      return;
    }
    run(async () => {
      const answer = await post<{ csrf_token: string }>(
        '/invitations/accept',
        { token, password, first_name: first, last_name: last },
        { quietAuth: true },
      );
      await finish(answer);
    });
  };

  const signInAndAccept = (e: Event) => {
    e.preventDefault();
    run(async () => {
      const s = await post<{ csrf_token: string }>(
        '/sessions',
        { email: facts.email, password: signInPassword },
        { quietAuth: true },
      );
      await session.started(s);
      await post('/invitations/accept', { token });
      await finish(undefined);
    });
  };

  const acceptSignedIn = () =>
    run(async () => {
      await post('/invitations/accept', { token });
      await finish(undefined);
    });

  const decline = () =>
    run(async () => {
      await post('/invitations/decline', { token }, { quietAuth: true });
      setDeclined(true);
      setBusy(false);
    });

  return (
    <section class="page page-narrow">
      <div class="card">
        <PageTitle text={`Join ${facts.agency.name}`} />
        <dl class="facts">
          <dt>Invited by</dt>
          <dd>{facts.inviter?.name || 'A manager of the agency'}</dd>
          <dt>For</dt>
          <dd>{facts.email}</dd>
          <dt>Roles</dt>
          <dd>
            <GrantList grants={facts.grants} places={facts.places} />
          </dd>
          <dt>Valid until</dt>
          <dd>{day(facts.expires_at)}</dd>
        </dl>

        {oauthStart && !(me && !sameEmail) ? (
          <div>
            <p>
              {facts.agency.name} asks you to sign in with your company login,{' '}
              <strong>{facts.connection_name}</strong>: you need no password in usher. Accepting
              takes you there and brings you back signed in.
            </p>
            <FormError error={error} fields={[]} />
            <div class="actions">
              <button type="button" class="button" disabled={busy} onClick={decline}>
                Decline
              </button>
              <a class="button button-primary" href={oauthStart}>
                Accept with {facts.connection_name}
              </a>
            </div>
          </div>
        ) : me && sameEmail ? (
          <div>
            <p>
              You are signed in as <strong>{me.user.email}</strong>. Accepting adds{' '}
              {facts.agency.name} to your account: no new password is needed.
            </p>
            <FormError error={error} fields={[]} />
            <div class="actions">
              <button type="button" class="button" disabled={busy} onClick={decline}>
                Decline
              </button>
              <button
                type="button"
                class="button button-primary"
                disabled={busy}
                onClick={acceptSignedIn}
              >
                Accept invitation
              </button>
            </div>
          </div>
        ) : me ? (
          <div>
            <p class="note note-error" role="alert">
              You are signed in as {me.user.email}, but this invitation is for {facts.email}. Sign
              out, then open the link again and sign in as {facts.email}.
            </p>
            <div class="actions">
              <button
                type="button"
                class="button"
                onClick={() =>
                  session.signOut().then(() => navigate(location.pathname + location.hash))
                }
              >
                Sign out
              </button>
            </div>
          </div>
        ) : facts.account_exists ? (
          <form onSubmit={signInAndAccept} noValidate>
            <p>
              {facts.email} already has an account. Sign in to accept: no new password is needed.
            </p>
            <TextField
              label="Email"
              name="email"
              value={facts.email}
              onValue={() => undefined}
              readOnly
              required
              autoComplete="username"
            />
            <TextField
              label="Password"
              name="password"
              type="password"
              value={signInPassword}
              onValue={setSignInPassword}
              required
              autoComplete="current-password"
              error={error}
            />
            <FormError error={error} fields={['password']} />
            <div class="actions">
              <button type="button" class="button" disabled={busy} onClick={decline}>
                Decline
              </button>
              <button type="submit" class="button button-primary" disabled={busy}>
                Sign in and accept
              </button>
            </div>
          </form>
        ) : (
          <form onSubmit={createAccount} noValidate>
            <p>Set a password to create your account for {facts.email}.</p>
            <div class="row-2">
              <TextField
                label="First name"
                name="first_name"
                value={first}
                onValue={setFirst}
                autoComplete="given-name"
                error={error}
                required
              />
              <TextField
                label="Last name"
                name="last_name"
                value={last}
                onValue={setLast}
                autoComplete="family-name"
                error={error}
                required
              />
            </div>
            <TextField
              label="Email"
              name="email"
              value={facts.email}
              onValue={() => undefined}
              readOnly
              required
              autoComplete="username"
            />
            <TextField
              label="Password"
              name="password"
              type="password"
              value={password}
              onValue={setPassword}
              required
              minLength={8}
              autoComplete="new-password"
              hint="At least 8 characters. A long phrase is easier to remember and harder to guess."
              describedBy={strengthId}
              error={error}
            />
            <PasswordStrength
              id={strengthId}
              password={password}
              email={facts.email}
              names={[first, last]}
            />
            <TextField
              label="Repeat the password"
              name="password_repeat"
              type="password"
              value={repeat}
              onValue={setRepeat}
              required
              autoComplete="new-password"
              error={error}
            />
            <FormError
              error={error}
              fields={['password', 'password_repeat', 'first_name', 'last_name']}
            />
            <div class="actions">
              <button type="button" class="button" disabled={busy} onClick={decline}>
                Decline
              </button>
              <button type="submit" class="button button-primary" disabled={busy}>
                {busy ? 'Creating your account…' : 'Create account and accept'}
              </button>
            </div>
          </form>
        )}
      </div>
    </section>
  );
}

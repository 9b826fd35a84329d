// The invitation landing page (/invitations/accept#token=…): the token is read from the
// fragment, so it never reaches a server log; the page shows what the invitation offers and
// lets a new user set a password, or a signed-in user accept, or anyone decline; an invitation
// that requires the agency's company sign-in is accepted through that login instead. Used,
// expired and withdrawn links get a page of their own saying whom to ask.
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, post, withQuery } from '../api';
import { day, when } from '../format';
import { Link, navigate } from '../router';
import { useSession } from '../session';
import type { InvitationFacts } from '../types';
import { Loading, PageTitle, announce } from '../ui';
import {
  AcceptSignedIn,
  AcceptWithCompany,
  CreateAccount,
  type NewAccount,
  SignInAndAccept,
  WrongAccount,
} from './accept_forms';
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

// A page of one card with a title and a paragraph: the outcomes that offer nothing to do.
function Notice({ title, children }: { title: string; children: ComponentChildren }) {
  return (
    <section class="page page-narrow">
      <div class="card">
        <PageTitle text={title} />
        <p>{children}</p>
      </div>
    </section>
  );
}

function LookupFailed({ error }: { error: ApiError }) {
  const invalid =
    error.code === 'invitation_not_found' || error.status === 404 || error.field === 'token';
  return (
    <Notice title={invalid ? 'This link does not work' : 'The invitation cannot be read'}>
      {invalid
        ? 'It may have been replaced by a newer invitation. Ask the person who invited you to send it again or to copy you the current link.'
        : error.message}
    </Notice>
  );
}

function lookup(token: string): Promise<InvitationFacts> {
  return post<InvitationFacts>('/invitations/lookup', { token }, { quietAuth: true });
}

export function AcceptInvitation() {
  const session = useSession();
  const [token, setToken] = useState(tokenFromFragment);
  const [facts, setFacts] = useState<InvitationFacts | null>(null);
  const [lookupError, setLookupError] = useState<ApiError | null>(null);
  const [declined, setDeclined] = useState(false);

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
    setDeclined(false);
    if (!token) return;
    lookup(token).then(setFacts, (e) =>
      setLookupError(e instanceof ApiError ? e : new ApiError(0, 'error', String(e), null, null)),
    );
  }, [token]);

  if (!token) {
    return (
      <Notice title="No invitation in this link">
        Open the link exactly as it is in your invitation email: the part after the <code>#</code>{' '}
        is needed. If you copied it by hand, ask the person who invited you to copy the link for you
        again.
      </Notice>
    );
  }
  if (lookupError) return <LookupFailed error={lookupError} />;
  if (!facts || session.status === 'loading') return <Loading what="Reading the invitation" />;
  if (declined) {
    return (
      <Notice title="Invitation declined">
        You declined the invitation to {facts.agency.name}. Nothing was created for you.
      </Notice>
    );
  }
  if (facts.status !== 'pending') {
    return (
      <section class="page page-narrow">
        <Ended facts={facts} />
      </section>
    );
  }
  return (
    <PendingInvitation
      token={token}
      facts={facts}
      onFacts={setFacts}
      onDeclined={() => setDeclined(true)}
    />
  );
}

// What a pending invitation offers, and the one way to answer it that fits who is signed in.
// Its requests run one at a time; a refusal that says the invitation changed meanwhile reads
// it again (onFacts), so the page then says what became of it.
function PendingInvitation({
  token,
  facts,
  onFacts,
  onDeclined,
}: {
  token: string;
  facts: InvitationFacts;
  onFacts: (f: InvitationFacts) => void;
  onDeclined: () => void;
}) {
  const session = useSession();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

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
    announce(`Welcome to ${facts.agency.name}`);
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
        const f = await lookup(token).catch(() => null);
        if (f) onFacts(f);
      }
      setError(e);
      setBusy(false);
    }
  }

  const createAccount = (account: NewAccount) =>
    run(async () => {
      const answer = await post<{ csrf_token: string }>(
        '/invitations/accept',
        { token, ...account },
        { quietAuth: true },
      );
      await finish(answer);
    });

  const signInAndAccept = (password: string) =>
    run(async () => {
      const s = await post<{ csrf_token: string }>(
        '/sessions',
        { email: facts.email, password },
        { quietAuth: true },
      );
      await session.started(s);
      await post('/invitations/accept', { token });
      await finish(undefined);
    });

  const acceptSignedIn = () =>
    run(async () => {
      await post('/invitations/accept', { token });
      await finish(undefined);
    });

  const decline = () =>
    run(async () => {
      await post('/invitations/decline', { token }, { quietAuth: true });
      onDeclined();
      setBusy(false);
    });

  const answer = { facts, error, busy, onDecline: decline };
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
          <AcceptWithCompany {...answer} oauthStart={oauthStart} />
        ) : me && sameEmail ? (
          <AcceptSignedIn {...answer} email={me.user.email} onAccept={acceptSignedIn} />
        ) : me ? (
          <WrongAccount
            facts={facts}
            email={me.user.email}
            onSignOut={() =>
              session.signOut().then(() => navigate(location.pathname + location.hash))
            }
          />
        ) : facts.account_exists ? (
          <SignInAndAccept {...answer} onSignIn={signInAndAccept} />
        ) : (
          <CreateAccount {...answer} onCreate={createAccount} onError={setError} />
        )}
      </div>
    </section>
  );
}

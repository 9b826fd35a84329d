// The emailed link that confirms a new email address, /email-change#token=…. The token rides in
// the fragment, so it never reaches a server log; the page reads it, drops it from the address
// bar and history, posts it once to /email-changes/confirm, and says what happened. The server
// ends every session of the account when the address changes, so the page leads to sign in.
import { useEffect, useState } from 'preact/hooks';
import { ApiError, post } from '../api';
import { Link } from '../router';
import { useSession } from '../session';
import type { User } from '../types';
import { PageTitle } from '../ui';
import { accountError } from './account_kit';

function tokenFromFragment(): string {
  const m = /(?:^#|&)token=([A-Za-z0-9_-]+)/.exec(location.hash);
  return m ? m[1] : '';
}

type Outcome =
  | { kind: 'working' }
  | { kind: 'no-token' }
  | { kind: 'changed'; email: string }
  | { kind: 'ended' }
  | { kind: 'taken' }
  | { kind: 'failed'; message: string };

// One confirmation per token, even when the page is drawn twice.
const sent = new Map<string, Promise<{ user?: User }>>();

function confirm(token: string): Promise<{ user?: User }> {
  let p = sent.get(token);
  if (!p) {
    p = post<{ user?: User }>('/email-changes/confirm', { token }, { quietAuth: true });
    sent.set(token, p);
  }
  return p;
}

function Said({ outcome }: { outcome: Outcome }) {
  switch (outcome.kind) {
    case 'working':
      return <PageTitle text="Confirming your new email address…" />;
    case 'changed':
      return (
        <>
          <PageTitle text="Your email address was changed" />
          <p role="status">
            Your account's email address is now <strong>{outcome.email}</strong>. You were signed
            out everywhere: sign in again with the new address.
          </p>
        </>
      );
    case 'ended':
      return (
        <>
          <PageTitle text="This link does not work any more" />
          <p>
            It was already used, a newer change replaced it, or it is older than 24 hours. Your
            email address has not been changed by it. Sign in and ask for the change again from your
            Account page.
          </p>
        </>
      );
    case 'taken':
      return (
        <>
          <PageTitle text="That address is taken" />
          <p>
            Another account started using this email address after you asked for the change, so your
            address stays as it was. Sign in and choose another address from your Account page.
          </p>
        </>
      );
    case 'no-token':
      return (
        <>
          <PageTitle text="No confirmation link" />
          <p>
            Open the link from the email we sent to your new address. It ends with #token= and a
            long code.
          </p>
        </>
      );
    default:
      return (
        <>
          <PageTitle text="The change could not be confirmed" />
          <p class="note note-error" role="alert">
            {outcome.message}
          </p>
        </>
      );
  }
}

export function EmailChangeConfirm() {
  const session = useSession();
  const [token] = useState(tokenFromFragment);
  const [outcome, setOutcome] = useState<Outcome>(
    token ? { kind: 'working' } : { kind: 'no-token' },
  );

  useEffect(() => {
    // The token lives only in this component's state from here on.
    if (location.hash) history.replaceState(history.state, '', location.pathname + location.search);
    if (!token) return;
    confirm(token).then(
      (answer) => {
        setOutcome({ kind: 'changed', email: answer?.user?.email || '' });
        // The server ended this account's sessions: the header should no longer show them.
        session.refresh();
      },
      (e) => {
        if (e instanceof ApiError && e.isMissingRoute)
          setOutcome({
            kind: 'failed',
            message: 'Changing an email address is not available on this usher server.',
          });
        else if (e instanceof ApiError && (e.code === 'invalid_token' || e.status === 404))
          setOutcome({ kind: 'ended' });
        else if (e instanceof ApiError && e.code === 'email_taken') setOutcome({ kind: 'taken' });
        else setOutcome({ kind: 'failed', message: String((accountError(e) as Error).message) });
      },
    );
    // Confirms once per token: a new session object must not send the link again.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [token]);

  return (
    <section class="page page-narrow">
      <div class="card">
        <Said outcome={outcome} />
        {outcome.kind === 'working' ? null : (
          <div class="actions actions-start">
            <Link href="/signin" class="button button-primary">
              Go to sign in
            </Link>
          </div>
        )}
      </div>
    </section>
  );
}

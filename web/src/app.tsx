// The console: the header, the impersonation banner, and which screen each path shows.
import { useEffect } from 'preact/hooks';
import { VIEW_AS_NOTE_ID } from './access';
import { del, messageOf } from './api';
import { fullName } from './format';
import { Link, match, navigate, useLocation } from './router';
import { SessionProvider, isPublicPage, signInPath, useSession } from './session';
import { AcceptInvitation } from './screens/accept';
import { Account } from './screens/account';
import { AccountDeleted } from './screens/account_delete';
import { AgencyAudit } from './screens/audit';
import { AgencyEnvironments, Agencies } from './screens/agencies';
import { BotScreen } from './screens/bot';
import { EmailChangeConfirm } from './screens/email_change';
import { ControlPanel } from './screens/home';
import { EnvironmentScreen } from './screens/environment';
import { PasswordReset } from './screens/password_reset';
import { People } from './screens/people';
import { AgencyRoles } from './screens/roles';
import { SecondFactorRequired } from './screens/second_factor_required';
import { SignIn } from './screens/signin';
import { SignInProblem, SignedOut } from './screens/signin_problem';
import { AgencySignIn } from './screens/connections';
import { AgencyTokens } from './screens/tokens';
import { AgencyUsers } from './screens/users';
import { ErrorNote, Loading, PageTitle, Toasts, announce } from './ui';
import { UserMenu } from './user_menu';
import { usePendingInvitationsWatch } from './pending_watch';

export function App() {
  return (
    <SessionProvider>
      <Shell />
    </SessionProvider>
  );
}

// The count of the signed-in person's pending invitations, a link to where they are answered.
function PendingInvitationsLink() {
  const { me } = useSession();
  usePendingInvitationsWatch();
  const n = me?.pending_invitations.length || 0;
  if (!n) return null;
  return (
    <Link href="/" class="header-invitations">
      {n === 1 ? 'Pending invitation' : 'Pending invitations'}
      <span class="visually-hidden">:</span> <span class="count">{n}</span>
    </Link>
  );
}

function Header() {
  const { me, signOut } = useSession();
  const { path } = useLocation();
  return (
    <header class="top">
      <Link href="/" class="brand">
        <span class="brand-mark" aria-hidden="true">
          u
        </span>
        <span>usher</span>
      </Link>
      {me ? (
        <>
          {/* Every screen is the enrolment page until two-step verification is set up. */}
          {me.second_factor_required ? null : (
            <nav class="top-nav" aria-label="Main">
              <Link href="/" aria-current={path === '/' ? 'page' : undefined}>
                Control panel
              </Link>
              <Link
                href="/agencies"
                aria-current={path.startsWith('/agencies') ? 'page' : undefined}
              >
                Agencies
              </Link>
              {me.is_platform_admin && !me.impersonator ? (
                <Link href="/people" aria-current={path.startsWith('/people') ? 'page' : undefined}>
                  People
                </Link>
              ) : null}
            </nav>
          )}
          <div class="top-user">
            {me.second_factor_required ? null : <PendingInvitationsLink />}
            <UserMenu me={me} />
            <button type="button" class="button button-small" onClick={signOut}>
              Sign out
            </button>
          </div>
        </>
      ) : null}
    </header>
  );
}

// Shown on every screen while the signed-in person is seeing the studio as someone else.
function ImpersonationBanner() {
  const { me, started } = useSession();
  if (!me || !me.impersonator) return null;
  const agencyId = me.impersonation?.agency_id;
  async function exit() {
    try {
      // The answer is the viewer's own new session, with its CSRF token.
      const answer = await del<{ csrf_token?: string }>('/impersonation');
      await started(answer || {});
      navigate(agencyId ? `/agencies/${encodeURIComponent(agencyId)}/users` : '/');
      announce('You are yourself again');
    } catch (e) {
      announce(messageOf(e), 'error');
    }
  }
  return (
    <div class="banner" role="region" aria-label="Impersonation">
      <p id={VIEW_AS_NOTE_ID}>
        {fullName(me.impersonator)}, you are seeing the studio as{' '}
        <strong>{fullName(me.user)}</strong> ({me.user.email}). Nothing can be changed meanwhile.
      </p>
      <button type="button" class="button button-small" onClick={exit}>
        Exit
      </button>
    </div>
  );
}

function Screens() {
  const session = useSession();
  const { path } = useLocation();
  const needsSession = !isPublicPage(path);

  useEffect(() => {
    if (needsSession && session.status === 'signed-out') navigate(signInPath(), { replace: true });
  }, [needsSession, session.status]);

  if (path === '/signin') return <SignIn />;
  if (path === '/invitations/accept') return <AcceptInvitation />;
  if (path === '/password-reset') return <PasswordReset />;
  if (path === '/sign-in/problem') return <SignInProblem />;
  if (path === '/signed-out') return <SignedOut />;
  if (path === '/email-change') return <EmailChangeConfirm />;
  if (path === '/account-deleted') return <AccountDeleted />;
  if (session.status === 'loading') return <Loading what="Signing in" />;
  if (session.status === 'error') return <ErrorNote error={session.error} />;
  if (session.status === 'signed-out') return <Loading what="Opening the sign-in page" />;
  if (session.me?.second_factor_required) return <SecondFactorRequired />;

  let m: Record<string, string> | null;
  if (path === '/') return <ControlPanel />;
  if (path === '/agencies') return <Agencies />;
  if (path === '/people') return <People />;
  if (path === '/account') return <Account />;
  if ((m = match('/agencies/:id', path))) return <AgencyEnvironments agencyId={m.id} />;
  if ((m = match('/agencies/:id/users', path))) return <AgencyUsers agencyId={m.id} />;
  if ((m = match('/agencies/:id/users/:userId', path)))
    return <AgencyUsers agencyId={m.id} openUser={m.userId} />;
  if ((m = match('/agencies/:id/invitations/:invitationId', path)))
    return <AgencyUsers agencyId={m.id} openInvitation={m.invitationId} />;
  if ((m = match('/agencies/:id/roles', path))) return <AgencyRoles agencyId={m.id} />;
  if ((m = match('/agencies/:id/tokens', path))) return <AgencyTokens agencyId={m.id} />;
  if ((m = match('/agencies/:id/sign-in', path))) return <AgencySignIn agencyId={m.id} />;
  if ((m = match('/agencies/:id/audit', path))) return <AgencyAudit agencyId={m.id} />;
  if ((m = match('/environments/:id', path))) return <EnvironmentScreen environmentId={m.id} />;
  if ((m = match('/bots/:id', path))) return <BotScreen botId={m.id} tab="overview" />;
  if ((m = match('/bots/:id/options', path))) return <BotScreen botId={m.id} tab="options" />;
  return (
    <section class="page">
      <PageTitle text="Page not found" />
      <p>
        There is no page at this address. <Link href="/">Go to the control panel</Link>.
      </p>
    </section>
  );
}

function Shell() {
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <Header />
      <ImpersonationBanner />
      {/* The notices, fixed at the bottom of the window; their Dismiss button comes before the page. */}
      <Toasts />
      <main id="main">
        <Screens />
      </main>
    </>
  );
}

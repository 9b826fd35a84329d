// Pages around a company sign-in (OpenID Connect): /sign-in/problem?reason=… where the
// server's start and callback send a browser whose sign-in they refused, saying what went wrong and what
// to do, and /signed-out, where the company's login sends the browser back after signing out
// of both.
import { Link, useLocation } from '../router';
import { useSession } from '../session';
import { PageTitle } from '../ui';

interface Words {
  title: string;
  what: string;
  advice: string;
}

// One entry per reason the start or the callback gives; the server logs the precise cause.
export const PROBLEMS: Record<string, Words> = {
  state_invalid: {
    title: 'This sign-in could not be finished',
    what: 'The sign-in took too long, was already used, or was started in another browser.',
    advice: 'Start again from the sign-in page, in this browser, and finish within ten minutes.',
  },
  idp_error: {
    title: 'Your company login stopped the sign-in',
    what: 'Your company login answered with an error instead of signing you in: you may have cancelled, or your account there may not be allowed to use usher.',
    advice:
      'Try again. If it happens again, ask your IT team whether your company account may use usher.',
  },
  idp_unreachable: {
    title: 'Your company login cannot be reached',
    what: 'usher could not reach your company login to finish signing you in.',
    advice: 'Try again in a few minutes. If it lasts, tell the owner of your agency in usher.',
  },
  token_invalid: {
    title: 'The answer of your company login could not be trusted',
    what: 'usher checks the proof your company login sends back, and this one did not pass: its signature, its age or the application it was made for was wrong.',
    advice:
      'Try again. If it happens again, the company sign-in may be set up wrongly: tell the owner of your agency in usher.',
  },
  no_account: {
    title: 'There is no usher account for you yet',
    what: 'Your company login knows you, but nobody has invited you to usher with this account.',
    advice:
      'Ask a manager of your agency to invite you, then open the link in the invitation email.',
  },
  email_unverified: {
    title: 'Your email address is not confirmed',
    what: 'Your company login did not confirm that the email address it gave belongs to you, so usher cannot match it to an account.',
    advice:
      'Ask your IT team to mark your address as verified, or ask a manager of your agency for an invitation.',
  },
  domain_not_claimed: {
    title: 'Your email domain is not set up for this login',
    what: 'The email address your company login gave is in a domain this company sign-in is not set up for.',
    advice:
      'Ask the owner of your agency in usher to add your domain to the company sign-in, or sign in with your password if you have one.',
  },
  invitation_invalid: {
    title: 'This invitation cannot be used any more',
    what: 'The invitation has expired, was withdrawn, or was already used.',
    advice: 'Ask the person who invited you to send a new invitation.',
  },
  invitation_subject_mismatch: {
    title: 'This invitation is for another company account',
    what: 'You signed in to your company login as someone other than the person the invitation names.',
    advice:
      'Sign out of your company login, then open the invitation link again and sign in as the invited person. If the invitation names the wrong person, ask for a new one.',
  },
  account_disabled: {
    title: 'Your account is disabled',
    what: 'Your company login knows you, but your usher account has been disabled.',
    advice: 'Ask your administrator to enable it again.',
  },
  link_conflict: {
    title: 'This company account belongs to someone else',
    what: 'The company account you signed in with is already linked to another usher account, so it cannot be linked to this one.',
    advice: 'Sign in with the account it is linked to, or ask an administrator to unlink it first.',
  },
  account_exists_sign_in_first: {
    title: 'Sign in to your usher account first',
    what: 'An usher account with your email address already exists, and this company login may not open it on its own.',
    advice:
      'Sign in the way you usually do (with your password), then link this company login from your Account page, or open the invitation again while signed in.',
  },
  identity_not_linked_here: {
    title: 'Your company account is linked through another agency',
    what: "This company account signs you in to usher through another agency's company sign-in, not this one. Each agency's company sign-in is linked on its own.",
    advice:
      'Sign in the way you usually do, then link this company sign-in from your Account page if you want to use it too.',
  },
  connection_not_found: {
    title: 'This company sign-in does not exist',
    what: 'The link you followed names a company sign-in that usher does not have: it may have been removed by the agency.',
    advice: 'Start again from the sign-in page with your email address.',
  },
  return_to_invalid: {
    title: 'This sign-in link is not right',
    what: 'The link you followed would send you somewhere outside usher after signing in, so it was not used.',
    advice: 'Start again from the sign-in page.',
  },
  request_invalid: {
    title: 'This sign-in link is not right',
    what: 'The link you followed is damaged or was changed.',
    advice: 'Start again from the sign-in page. If you used a bookmark, update it.',
  },
  sign_in_required: {
    title: 'Sign in first',
    what: 'Linking a company login to your account needs you to be signed in, and you are not (any more).',
    advice: 'Sign in, then link the company login again from your Account page.',
  },
  link_not_allowed: {
    title: 'A company login cannot be linked from here',
    what: 'While you view usher as someone else, no company login can be linked to their account.',
    advice: 'Stop viewing as them; each person links their own company login.',
  },
  busy: {
    title: 'usher is busy',
    what: 'Too many sign-ins are under way at the moment to start yours.',
    advice: 'Wait a minute and try again.',
  },
  server_error: {
    title: 'Something went wrong on our side',
    what: 'usher could not finish the sign-in because of a problem of its own, not of your company login.',
    advice:
      'Try again in a few minutes. If it lasts, tell the owner of your agency in usher and give them the reference below.',
  },
};

const UNKNOWN: Words = {
  title: 'Signing in through your company did not work',
  what: 'The sign-in was refused.',
  advice:
    'Start again from the sign-in page. If it keeps happening, tell the owner of your agency in usher.',
};

export function SignInProblem() {
  const { query } = useLocation();
  const { me } = useSession();
  const reason = query.get('reason') || '';
  const words = Object.prototype.hasOwnProperty.call(PROBLEMS, reason) ? PROBLEMS[reason] : UNKNOWN;
  return (
    <section class="page page-narrow">
      <div class="card">
        <PageTitle text={words.title} />
        <p>{words.what}</p>
        <p>
          <strong>What to do:</strong> {words.advice}
        </p>
        <div class="actions actions-start">
          {me ? (
            <Link href="/" class="button button-primary">
              Back to the control panel
            </Link>
          ) : (
            <Link href="/signin" class="button button-primary">
              Back to sign-in
            </Link>
          )}
        </div>
        {reason ? (
          <p class="muted small problem-code">
            Reference for your administrator: <code>{reason}</code>
          </p>
        ) : null}
      </div>
    </section>
  );
}

export function SignedOut() {
  return (
    <section class="page page-narrow">
      <div class="card">
        <PageTitle text="You are signed out" />
        <p>
          You are signed out of usher and of your company login. Close the browser if others use
          this computer.
        </p>
        <div class="actions actions-start">
          <Link href="/signin" class="button button-primary">
            Sign in again
          </Link>
        </div>
      </div>
    </section>
  );
}

// The page that replaces every screen while an agency of the signed-in person requires
// two-step verification and they have not set it up (GET /me second_factor_required): the
// server refuses everything else meanwhile. It leads through the enrolment, then reloads /me
// and the console opens where the person was going.
import { useState } from 'preact/hooks';
import { useSession } from '../session';
import { PageTitle, announce } from '../ui';
import { TotpEnrol } from './totp_enrol';

export function SecondFactorRequired() {
  const session = useSession();
  const [enrolling, setEnrolling] = useState(false);

  async function done() {
    const me = await session.refresh();
    if (me && !me.second_factor_required) {
      announce('Two-step verification is on. Welcome to usher.');
    }
  }

  return (
    <section class="page page-narrow">
      <div class="card">
        <PageTitle text="Your agency requires two-step verification" />
        {enrolling ? (
          <TotpEnrol
            onDone={done}
            onCancel={() => setEnrolling(false)}
            doneLabel="Continue to usher"
            headingLevel={2}
          />
        ) : (
          <>
            <p>
              An agency you belong to asks everyone to sign in with two steps: your password, then a
              code from an authenticator app on your phone. Set it up now to continue; it takes
              about two minutes.
            </p>
            <p class="muted small">Until then, you can only sign out.</p>
            <div class="actions">
              <button type="button" class="button" onClick={session.signOut}>
                Sign out
              </button>
              <button
                type="button"
                class="button button-primary"
                onClick={() => setEnrolling(true)}
              >
                Set up two-step verification
              </button>
            </div>
          </>
        )}
      </div>
    </section>
  );
}

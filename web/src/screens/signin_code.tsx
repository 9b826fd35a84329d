// The second step of signing in, for an account with two-step verification: after the
// password, POST /sessions (or a password-reset confirmation) answers mfa_required and a
// short-lived mfa_token instead of a session; this form sends that token with the 6-digit code
// of the person's authenticator app, or one of their recovery codes, to POST /sessions/mfa,
// whose answer is the session. Wrong codes, an expired sign-in and too many tries are said in
// words, and the focus goes to the field or to the message.
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, messageOf, post } from '../api';
import { plural } from '../format';
import type { SessionAnswer } from '../types';
import { PageTitle } from '../ui';
import { CodeWords, SecondFactorCodeField, useSecondFactorCode } from './second_factor_code';

interface Problem {
  text: string;
  // Where the message belongs: beside the field (a wrong code) or above the form (the
  // sign-in has to start again, or has to wait).
  at: 'field' | 'form';
  restart?: boolean;
}

// A refusal of POST /sessions/mfa in words for people.
function problemOf(e: unknown, recovery: boolean): Problem {
  if (e instanceof ApiError) {
    if (e.code === 'invalid_code')
      return {
        at: 'field',
        text: recovery
          ? 'That recovery code is not right, or it has been used already. Each code works once.'
          : 'That code is not right. Enter the code your app shows now; codes change every 30 seconds.',
      };
    if (e.code === 'mfa_token_invalid')
      return {
        at: 'form',
        restart: true,
        text: 'This sign-in has expired or was used up by too many wrong codes. Start again with your email and password.',
      };
    if (e.status === 429) {
      const wait = e.retryAfter || 60;
      return {
        at: 'form',
        text: `Too many wrong codes. Wait ${plural(wait, 'second', 'seconds')} and try again.`,
      };
    }
  }
  return { at: 'form', text: messageOf(e) };
}

// The field's words on the sign-in page, where the code is all it asks for.
const SIGN_IN_WORDS: CodeWords = {
  code: 'Enter the 6-digit code from your authenticator app',
  recovery: 'Enter one of your recovery codes',
  toCode: 'Use the code from your app instead',
  codeHint: 'Open the authenticator app on your phone and look for usher.',
  recoveryHint:
    'You saved ten recovery codes when you turned on two-step verification. Each one works once.',
};

interface SecondStepProps {
  mfaToken: string;
  // Called with the session answer once a code was accepted.
  onSignedIn: (answer: SessionAnswer) => Promise<void>;
  // Leads back to the password step (the sign-in expired).
  onRestart: () => void;
  restartLabel?: string;
  // A sentence above the form (what happened before this step), if any.
  intro?: string;
}

export function SecondStep({
  mfaToken,
  onSignedIn,
  onRestart,
  restartLabel = 'Start again',
  intro,
}: SecondStepProps) {
  const code = useSecondFactorCode();
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  const note = useRef<HTMLParagraphElement>(null);

  // A new problem takes the focus to what to put right: the field, or the message above it.
  useEffect(() => {
    if (!problem) return;
    if (problem.at === 'field') input.current?.focus();
    else note.current?.focus();
  }, [problem]);

  async function submit(e: Event) {
    e.preventDefault();
    if (!code.wellFormed) {
      setProblem({ at: 'field', text: 'Enter the 6 digits your authenticator app shows.' });
      return;
    }
    if (!code.value) {
      setProblem({ at: 'field', text: 'Enter one of the recovery codes you saved.' });
      return;
    }
    setBusy(true);
    setProblem(null);
    try {
      const body = { mfa_token: mfaToken, [code.field]: code.value };
      const answer = await post<SessionAnswer>('/sessions/mfa', body, { quietAuth: true });
      await onSignedIn(answer);
    } catch (err) {
      setProblem(problemOf(err, code.recovery));
      setBusy(false);
    }
  }

  // The sign-in is over: nothing to type any more, only the way back to the password.
  if (problem?.restart) {
    return (
      <>
        <PageTitle text="Two-step verification" />
        <p ref={note} class="note note-error" role="alert" tabIndex={-1}>
          {problem.text}
        </p>
        <div class="actions">
          <button type="button" class="button button-primary" onClick={onRestart}>
            {restartLabel}
          </button>
        </div>
      </>
    );
  }

  const fieldError = problem?.at === 'field' ? problem.text : null;
  return (
    <>
      <PageTitle text="Two-step verification" />
      {intro ? <p>{intro}</p> : null}
      <form onSubmit={submit} noValidate>
        <SecondFactorCodeField
          state={code}
          onSwitch={() => setProblem(null)}
          error={fieldError}
          words={SIGN_IN_WORDS}
          large
          inputRef={input}
        />
        {problem?.at === 'form' ? (
          <p ref={note} class="note note-error" role="alert" tabIndex={-1}>
            {problem.text}
          </p>
        ) : null}
        <div class="actions">
          <button type="button" class="button" onClick={onRestart}>
            Cancel
          </button>
          <button type="submit" class="button button-primary" disabled={busy}>
            {busy ? 'Checking…' : 'Verify'}
          </button>
        </div>
      </form>
    </>
  );
}

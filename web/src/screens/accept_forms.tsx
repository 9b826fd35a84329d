// The ways to answer a pending invitation on its landing page (accept.tsx): through the agency's
// company sign-in, as the signed-in user it is for, by signing in to the account that exists for
// its address, or by creating an account with a password; and the note for a signed-in user it
// is not for. Each form calls back to the page, which runs the request and shows its outcome.
import { useState } from 'preact/hooks';
import { PasswordChoice, usePasswordChoice } from '../password_choice';
import type { InvitationFacts } from '../types';
import { FormError, TextField } from '../ui';

interface AnswerProps {
  facts: InvitationFacts;
  error: unknown;
  busy: boolean;
  onDecline: () => void;
}

function DeclineButton({ busy, onDecline }: { busy: boolean; onDecline: () => void }) {
  return (
    <button type="button" class="button" disabled={busy} onClick={onDecline}>
      Decline
    </button>
  );
}

// An invitation to accept through the agency's company sign-in: no password form, only the way
// to the company login (oauthStart), which accepts it on the way back.
export function AcceptWithCompany({
  facts,
  error,
  busy,
  onDecline,
  oauthStart,
}: AnswerProps & { oauthStart: string }) {
  return (
    <div>
      <p>
        {facts.agency.name} asks you to sign in with your company login,{' '}
        <strong>{facts.connection_name}</strong>: you need no password in usher. Accepting takes you
        there and brings you back signed in.
      </p>
      <p class="note note-info" id="company-login-whole-account">
        Accepting links that company login to your usher account: from then on it signs you in to
        the whole account, every agency you belong to or join later, not only {facts.agency.name}.
      </p>
      <FormError error={error} fields={[]} />
      <div class="actions">
        <DeclineButton busy={busy} onDecline={onDecline} />
        <a class="button button-primary" href={oauthStart}>
          Accept with {facts.connection_name}
        </a>
      </div>
    </div>
  );
}

export function AcceptSignedIn({
  facts,
  error,
  busy,
  onDecline,
  email,
  onAccept,
}: AnswerProps & { email: string; onAccept: () => void }) {
  return (
    <div>
      <p>
        You are signed in as <strong>{email}</strong>. Accepting adds {facts.agency.name} to your
        account: no new password is needed.
      </p>
      <FormError error={error} fields={[]} />
      <div class="actions">
        <DeclineButton busy={busy} onDecline={onDecline} />
        <button type="button" class="button button-primary" disabled={busy} onClick={onAccept}>
          Accept invitation
        </button>
      </div>
    </div>
  );
}

export function WrongAccount({
  facts,
  email,
  onSignOut,
}: {
  facts: InvitationFacts;
  email: string;
  onSignOut: () => void;
}) {
  return (
    <div>
      <p class="note note-error" role="alert">
        You are signed in as {email}, but this invitation is for {facts.email}. Sign out, then open
        the link again and sign in as {facts.email}.
      </p>
      <div class="actions">
        <button type="button" class="button" onClick={onSignOut}>
          Sign out
        </button>
      </div>
    </div>
  );
}

export function SignInAndAccept({
  facts,
  error,
  busy,
  onDecline,
  onSignIn,
}: AnswerProps & { onSignIn: (password: string) => void }) {
  const [password, setPassword] = useState('');
  const submit = (e: Event) => {
    e.preventDefault();
    onSignIn(password);
  };
  return (
    <form onSubmit={submit} noValidate>
      <p>{facts.email} already has an account. Sign in to accept: no new password is needed.</p>
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
        autoComplete="current-password"
        error={error}
      />
      <FormError error={error} fields={['password']} />
      <div class="actions">
        <DeclineButton busy={busy} onDecline={onDecline} />
        <button type="submit" class="button button-primary" disabled={busy}>
          Sign in and accept
        </button>
      </div>
    </form>
  );
}

export interface NewAccount {
  password: string;
  first_name: string;
  last_name: string;
}

// The names start as the inviter gave them; the two passwords must match before anything is
// sent (onError shows the difference as a refusal of the repeat field, which takes the focus).
export function CreateAccount({
  facts,
  error,
  busy,
  onDecline,
  onCreate,
  onError,
}: AnswerProps & { onCreate: (account: NewAccount) => void; onError: (e: unknown) => void }) {
  const [first, setFirst] = useState(facts.first_name || '');
  const [last, setLast] = useState(facts.last_name || '');
  const choice = usePasswordChoice('password', 'Password');

  const submit = (e: Event) => {
    e.preventDefault();
    const differ = choice.mismatch();
    if (differ) {
      onError(differ);
      return;
    }
    onCreate({ password: choice.value, first_name: first, last_name: last });
  };

  return (
    <form onSubmit={submit} noValidate>
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
      <PasswordChoice choice={choice} error={error} email={facts.email} names={[first, last]} />
      <FormError
        error={error}
        fields={['password', 'password_repeat', 'first_name', 'last_name']}
      />
      <div class="actions">
        <DeclineButton busy={busy} onDecline={onDecline} />
        <button type="submit" class="button button-primary" disabled={busy}>
          {busy ? 'Creating your account…' : 'Create account and accept'}
        </button>
      </div>
    </form>
  );
}

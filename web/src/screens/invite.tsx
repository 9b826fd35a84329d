// The invite dialog: email, names, shortcode, one or more scopes each with roles and extra
// permissions, expiry. Only what the server says the signed-in person may give is offered, and
// nothing is sent until every scope gives something.
import { useRef, useState } from 'preact/hooks';
import { ApiError, post } from '../api';
import { useAgency } from '../agency';
import type { Invitation } from '../types';
import {
  Dialog,
  FormError,
  TextField,
  announce,
  fieldMessage,
  useFocusFirstError,
  useId,
  useSubmit,
} from '../ui';
import { GrantDraft, GrantsEditor, grantOf, isEmptyDraft, pastCeilingDraft } from './grants_editor';
import { NotifyNote } from './notify_note';

const EXPIRY = [
  { seconds: 86400, label: '1 day' },
  { seconds: 259200, label: '3 days' },
  { seconds: 604800, label: '7 days' },
  { seconds: 1209600, label: '14 days' },
  { seconds: 2592000, label: '30 days' },
];

interface InviteProps {
  onClose: () => void;
  onSent?: (inv: Invitation) => void;
  environmentId?: string;
}

export function InviteDialog({ onClose, onSent, environmentId }: InviteProps) {
  const { agency, environments, access } = useAgency();
  const mayInvite = (env?: string) =>
    access.can('users.invite', agency.id, env ? { environmentId: env } : {});
  // An environment by default, never the whole agency while an environment may be chosen: access
  // to the whole agency is asked for on purpose (the editor confirms it).
  const startScope =
    environmentId && mayInvite(environmentId)
      ? environmentId
      : environments.find((e) => mayInvite(e.id))?.id || '';
  const [email, setEmail] = useState('');
  const [first, setFirst] = useState('');
  const [last, setLast] = useState('');
  const [shortcode, setShortcode] = useState('');
  const [grants, setGrants] = useState<GrantDraft[]>([{ scope: startScope, roles: [], extra: [] }]);
  const [expiry, setExpiry] = useState(604800);
  const [sendEmail, setSendEmail] = useState(true);
  // The agency's company sign-in, when it has one: the invitation may require it.
  const connections = agency.sign_in_connections || [];
  const [signIn, setSignIn] = useState<'password' | 'oauth'>('password');
  const [subject, setSubject] = useState('');
  const methodId = useId('sign-in-method');
  const expiryId = useId('expiry');
  const hintId = useId('send-hint');
  const form = useRef<HTMLFormElement>(null);
  const empty = grants.filter(isEmptyDraft).length;
  const { busy, error, submit } = useSubmit(async () => {
    if (empty) return;
    // Said here at once, in the words the server would use, without a round trip.
    if (!email.trim()) throw new ApiError(400, 'invalid_input', 'email is required', 'email', null);
    const late = pastCeilingDraft(grants);
    if (late) throw late;
    const body: Record<string, unknown> = {
      email: email.trim(),
      grants: grants.map(grantOf),
      expires_in_seconds: expiry,
      send_email: sendEmail,
    };
    if (first.trim()) body.first_name = first.trim();
    if (last.trim()) body.last_name = last.trim();
    if (shortcode.trim()) body.shortcode = shortcode.trim();
    if (connections.length) body.sign_in = signIn;
    if (signIn === 'oauth' && subject.trim()) body.oauth_subject = subject.trim();
    const inv = await post<Invitation>(
      `/agencies/${encodeURIComponent(agency.id)}/invitations`,
      body,
    );
    announce(sendEmail ? `Invitation sent to ${inv.email}` : `Invitation created for ${inv.email}`);
    onSent?.(inv);
    onClose();
  });
  useFocusFirstError(form, error);

  return (
    <Dialog title="Invite user" onClose={onClose} wide>
      <form ref={form} onSubmit={submit} noValidate>
        {connections.length ? (
          <fieldset class="method-choice" aria-describedby={`${methodId}-hint`}>
            <legend>Sign-in method</legend>
            <label class="check">
              <input
                type="radio"
                name="sign_in"
                value="password"
                checked={signIn === 'password'}
                onChange={() => setSignIn('password')}
              />
              <span>Email &amp; password</span>
            </label>
            <label class="check">
              <input
                type="radio"
                name="sign_in"
                value="oauth"
                checked={signIn === 'oauth'}
                onChange={() => setSignIn('oauth')}
              />
              <span>Company login ({connections.map((c) => c.name).join(' or ')})</span>
            </label>
            <p class="hint" id={`${methodId}-hint`}>
              {signIn === 'oauth'
                ? 'They accept by signing in through the company login; they set no password in usher.'
                : 'They set a password when they accept, or use the one they have.'}
            </p>
            {fieldMessage(error, 'sign_in') ? (
              <p class="field-error">{fieldMessage(error, 'sign_in')}</p>
            ) : null}
          </fieldset>
        ) : null}
        <TextField
          label="Email"
          name="email"
          type="email"
          value={email}
          onValue={setEmail}
          required
          autoComplete="off"
          error={error}
        />
        {signIn === 'oauth' ? (
          <TextField
            label="User identifier at the company login"
            name="oauth_subject"
            value={subject}
            onValue={setSubject}
            autoComplete="off"
            error={error}
            hint="The subject (sub) your identity provider gives this person. When set, only that account can accept."
          />
        ) : null}
        <div class="row-2">
          <TextField
            label="First name"
            name="first_name"
            value={first}
            onValue={setFirst}
            error={error}
          />
          <TextField
            label="Last name"
            name="last_name"
            value={last}
            onValue={setLast}
            error={error}
          />
        </div>
        <TextField
          label="Shortcode"
          name="shortcode"
          value={shortcode}
          onValue={setShortcode}
          error={error}
          hint="Used by routing rules to assign conversations automatically; unique in the agency."
        />
        <h3 class="h4">Access</h3>
        <GrantsEditor value={grants} onChange={setGrants} error={error} purpose="invite" />
        <NotifyNote before={[]} after={grants} who="they" invitation />
        <div class="field">
          <label for={expiryId}>Link valid for</label>
          <select
            id={expiryId}
            name="expires_in_seconds"
            value={String(expiry)}
            onChange={(e) => setExpiry(Number((e.currentTarget as HTMLSelectElement).value))}
          >
            {EXPIRY.map((x) => (
              <option key={x.seconds} value={String(x.seconds)}>
                {x.label}
              </option>
            ))}
          </select>
          {fieldMessage(error, 'expires_in_seconds') ? (
            <p class="field-error">{fieldMessage(error, 'expires_in_seconds')}</p>
          ) : null}
        </div>
        <label class="check">
          <input
            type="checkbox"
            name="send_email"
            checked={sendEmail}
            onChange={(e) => setSendEmail((e.currentTarget as HTMLInputElement).checked)}
          />
          <span>Send the invitation by email (otherwise copy the link from the user table)</span>
        </label>
        <FormError
          error={error}
          fields={[
            'email',
            'first_name',
            'last_name',
            'shortcode',
            'grants',
            'expires_in_seconds',
            'sign_in',
            'oauth_subject',
          ]}
        />
        <div class="actions">
          {empty ? (
            <p class="hint actions-hint" id={hintId}>
              {grants.length > 1
                ? 'Choose at least one role for every access'
                : 'Choose at least one role'}
            </p>
          ) : null}
          <button type="button" class="button" onClick={onClose}>
            Cancel
          </button>
          <button
            type="submit"
            class="button button-primary"
            disabled={busy || empty > 0}
            aria-describedby={empty ? hintId : undefined}
          >
            {busy ? 'Sending…' : sendEmail ? 'Send invitation' : 'Create invitation'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

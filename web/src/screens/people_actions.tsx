// What a platform admin may do to one account from the People page, each behind a dialog that
// says what will happen: disable or enable it (PATCH /users/{id}), email it a password reset
// link (POST /users/{id}/password-reset), reset a lost second factor (DELETE /users/{id}/totp)
// and erase the account with its personal data (DELETE /users/{id}, the email typed to confirm).
// Each result is announced; refusals are put in words.
import { useRef, useState } from 'preact/hooks';
import { ApiError, allowedMethods, del, messageOf, patch, post } from '../api';
import { fullName } from '../format';
import type { PlatformUser } from '../types';
import { Confirm, Dialog, FormError, TextField, announce, useFocusFirstError } from '../ui';

export type PersonAction = 'disable' | 'enable' | 'reset_link' | 'reset_totp' | 'erase';

const LABELS: Record<PersonAction, string> = {
  disable: 'Disable account',
  enable: 'Enable account',
  reset_link: 'Send password reset link',
  reset_totp: 'Reset two-step verification',
  erase: 'Erase account',
};

export const actionLabel = (a: PersonAction) => LABELS[a];

// Which of the actions that newer servers have this one answers: asked once per page with
// OPTIONS (the Allow header of the router's 405), so an older usher offers none of them.
export async function serverActions(): Promise<Set<PersonAction>> {
  const [user, link, totp] = await Promise.all([
    allowedMethods('/users/-'),
    allowedMethods('/users/-/password-reset'),
    allowedMethods('/users/-/totp'),
  ]);
  const out = new Set<PersonAction>(['disable', 'enable']);
  if (user.includes('DELETE')) out.add('erase');
  if (link.includes('POST')) out.add('reset_link');
  if (totp.includes('DELETE')) out.add('reset_totp');
  return out;
}

// The actions offered for a person: none on oneself (the account page is for that), enable or
// disable by status, a reset link to active accounts, a second-factor reset where one is on,
// and of those only what this server has.
export function actionsFor(
  p: PlatformUser,
  selfId: string,
  server: Set<PersonAction>,
): PersonAction[] {
  if (p.id === selfId) return [];
  const out: PersonAction[] = [];
  if (p.status === 'disabled') out.push('enable');
  if (p.status === 'active') out.push('reset_link');
  if (p.second_factor === true) out.push('reset_totp');
  if (p.status === 'active') out.push('disable');
  out.push('erase');
  return out.filter((a) => server.has(a));
}

const nameOf = (p: PlatformUser) =>
  fullName({ first_name: p.first_name, last_name: p.last_name }) || p.email;

// The refusal in words.
function inWords(e: unknown, action: PersonAction, p: PlatformUser): Error {
  if (e instanceof ApiError) {
    if (e.isMissingRoute)
      return new Error(`${LABELS[action]} is not available on this usher server yet.`);
    if (e.code === 'last_owner') {
      // The refusal names the agency by its id, in a member of its own or in its message.
      const named = [e.body.agency_id, (e.body.agency as { id?: string } | undefined)?.id].find(
        (v) => typeof v === 'string',
      );
      const agency = p.agencies.find((a) => a.id === named || e.message.includes(a.id))?.name;
      const where = agency ? `the agency ${agency}` : 'one of their agencies';
      return new Error(
        `${nameOf(p)} is the only owner of ${where}, which would be left without an owner. Make someone else an owner of ${agency || 'that agency'} first, then erase the account.`,
      );
    }
    if (e.code === 'last_platform_admin')
      return new Error(
        `${nameOf(p)} is the last active platform admin. Make someone else a platform admin first.`,
      );
    if (e.status === 404)
      return new Error(
        'This account no longer exists. Reload the list to see the accounts as they are now.',
      );
  }
  return new Error(messageOf(e));
}

interface ActionDialogProps {
  person: PlatformUser;
  action: PersonAction;
  onClose: () => void;
  onDone: () => void; // reloads the list
}

export function ActionDialog({ person: p, action, onClose, onDone }: ActionDialogProps) {
  const id = encodeURIComponent(p.id);
  const name = nameOf(p);
  async function run(send: () => Promise<unknown>, done: string) {
    try {
      await send();
    } catch (e) {
      throw inWords(e, action, p);
    }
    announce(done);
    onDone();
  }

  if (action === 'enable')
    return (
      <Confirm
        title={`Enable ${name}`}
        confirm="Enable account"
        danger={false}
        onClose={onClose}
        onConfirm={() =>
          run(() => patch(`/users/${id}`, { status: 'active' }), `${p.email} can sign in again`)
        }
      >
        <p>
          <strong>{p.email}</strong> can sign in again, with the access they had in their agencies
          before it was disabled.
        </p>
      </Confirm>
    );
  if (action === 'disable')
    return (
      <Confirm
        title={`Disable ${name}`}
        confirm="Disable account"
        onClose={onClose}
        onConfirm={() =>
          run(
            () => patch(`/users/${id}`, { status: 'disabled' }),
            `${p.email} is disabled and signed out everywhere`,
          )
        }
      >
        <p>
          <strong>{p.email}</strong> can no longer sign in, and every session they have ends at
          once. Their access in agencies is kept and works again if you enable the account later.
        </p>
      </Confirm>
    );
  if (action === 'reset_link')
    return (
      <Confirm
        title="Send a password reset link"
        confirm="Send the link"
        danger={false}
        onClose={onClose}
        onConfirm={() =>
          run(
            () => post(`/users/${id}/password-reset`),
            `A password reset link was sent to ${p.email}`,
          )
        }
      >
        <p>
          We email <strong>{p.email}</strong> a link to choose a new password. It works once, within
          30 minutes. You do not see the link, and their current password keeps working until they
          use it.
        </p>
      </Confirm>
    );
  if (action === 'reset_totp')
    return (
      <Confirm
        title="Reset two-step verification"
        confirm="Reset two-step verification"
        onClose={onClose}
        onConfirm={() =>
          run(() => del(`/users/${id}/totp`), `Two-step verification of ${p.email} was reset`)
        }
      >
        <p>
          Do this only when you are sure it is <strong>{name}</strong> asking, for example after
          they lost their phone.
        </p>
        <p>
          Their authenticator app and recovery codes stop working, and they sign in with their
          password alone until they set it up again. If an agency of theirs requires two-step
          verification, they have to set it up again before they can go on. We email {p.email} that
          it was reset.
        </p>
      </Confirm>
    );
  return <EraseDialog person={p} onClose={onClose} run={run} />;
}

interface EraseProps {
  person: PlatformUser;
  onClose: () => void;
  run: (send: () => Promise<unknown>, done: string) => Promise<void>;
}

function EraseDialog({ person: p, onClose, run }: EraseProps) {
  const [typed, setTyped] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const form = useRef<HTMLFormElement>(null);
  useFocusFirstError(form, error);
  const matches = typed.trim().toLowerCase() === p.email.toLowerCase();

  async function submit(e: Event) {
    e.preventDefault();
    if (!matches) {
      setError(
        new ApiError(400, 'invalid_input', `Type ${p.email} exactly to confirm.`, 'confirm', null),
      );
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await run(
        () => del(`/users/${encodeURIComponent(p.id)}`, { confirm: p.email }),
        `The account of ${p.email} was erased`,
      );
      onClose();
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  }

  return (
    <Dialog title={`Erase the account of ${nameOf(p)}`} onClose={onClose}>
      <form ref={form} onSubmit={submit} noValidate>
        <p>
          This deletes the account of <strong>{p.email}</strong> and its personal data for good:
          name, email address, password, sessions and two-step verification. Their access in every
          agency and the invitations sent to this address go too. The audit log keeps its entries,
          which then show a deleted user.
        </p>
        <p>
          <strong>This cannot be undone.</strong> To keep the account but stop its use, disable it
          instead.
        </p>
        <TextField
          label={`Type ${p.email} to confirm`}
          name="confirm"
          value={typed}
          onValue={setTyped}
          required
          autoComplete="off"
          error={error}
        />
        <FormError error={error} fields={['confirm']} />
        <div class="actions">
          <button type="button" class="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="button button-danger" disabled={busy || !matches}>
            {busy ? 'Erasing…' : 'Erase account'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

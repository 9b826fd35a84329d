// The user panel's two edits of a member: their shortcode (and names, which belong to the
// person: only they or a platform admin change them), and their access per scope, offering
// what the server says the manager may give.
import { useRef, useState } from 'preact/hooks';
import { ApiError, patch, put } from '../api';
import { useAgency } from '../agency';
import { fullName } from '../format';
import { useSession } from '../session';
import type { Member } from '../types';
import { FormError, TextField, announce, fieldMessage, useFocusFirstError, useSubmit } from '../ui';
import { GrantDraft, GrantsEditor, draftOf, grantOf } from './grants_editor';
import { NotifyNote } from './notify_note';

const memberPath = (agencyId: string, userId: string) =>
  `/agencies/${encodeURIComponent(agencyId)}/users/${encodeURIComponent(userId)}`;

// Whether the signed-in person may change this member's names: their own, or any as a
// platform admin.
export function useNamesEditable(member: Member): boolean {
  const { me } = useSession();
  return !!me && !me.impersonation && (me.is_platform_admin || me.user.id === member.id);
}

// The refusal "names belong to the person" shown beside the names, which it is about.
function besideNames(err: unknown): unknown {
  if (err instanceof ApiError && err.code === 'names_belong_to_person' && !err.field)
    return new ApiError(err.status, err.code, err.message, 'first_name', err.requestId);
  return err;
}

interface EditProps {
  member: Member;
  onCancel: () => void;
}

export function ProfileForm({ member, onCancel, onSaved }: EditProps & { onSaved: (m: Member) => void }) {
  const { agency } = useAgency();
  const namesEditable = useNamesEditable(member);
  const [first, setFirst] = useState(member.first_name);
  const [last, setLast] = useState(member.last_name);
  const [shortcode, setShortcode] = useState(member.shortcode || '');
  const form = useRef<HTMLFormElement>(null);
  const sent = useSubmit(async () => {
    // Only what changed goes out: the names are not sent at all when they are not ours to change.
    const body: Record<string, unknown> = {};
    if (namesEditable && first.trim() !== member.first_name) body.first_name = first.trim();
    if (namesEditable && last.trim() !== member.last_name) body.last_name = last.trim();
    if (shortcode.trim() !== (member.shortcode || '')) body.shortcode = shortcode.trim() || null;
    if (!Object.keys(body).length) return onCancel();
    const m = await patch<Member>(memberPath(agency.id, member.id), body);
    announce('Saved');
    onSaved(m);
  });
  const error = besideNames(sent.error);
  const namesMessage = fieldMessage(error, 'first_name');
  useFocusFirstError(form, error);
  return (
    <form ref={form} onSubmit={sent.submit} noValidate class="panel-form">
      {namesEditable ? (
        <>
          <TextField label="First name" name="first_name" value={first} onValue={setFirst} error={error} />
          <TextField label="Last name" name="last_name" value={last} onValue={setLast} error={error} />
        </>
      ) : (
        <div class={`field${namesMessage ? ' field-invalid' : ''}`}>
          <p class="field-label">Name</p>
          <p class="names-readonly">{fullName({ first_name: member.first_name, last_name: member.last_name }) || '—'}</p>
          <p class="hint">Names belong to the person: only they change them, in their own account.</p>
          {namesMessage ? (
            <p class="field-error" role="alert">
              {namesMessage}
            </p>
          ) : null}
        </div>
      )}
      <TextField label="Shortcode" name="shortcode" value={shortcode} onValue={setShortcode} error={error} />
      <FormError error={error} fields={['first_name', 'last_name', 'shortcode']} />
      <div class="actions">
        <button type="button" class="button" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" class="button button-primary" disabled={sent.busy}>
          Save
        </button>
      </div>
    </form>
  );
}

export function AccessForm({ member, onCancel, onSaved }: EditProps & { onSaved: () => void }) {
  const { agency, roles } = useAgency();
  const [held] = useState<GrantDraft[]>(() => member.grants.filter((g) => !g.bot_id).map((g) => draftOf(g, roles)));
  const [drafts, setDrafts] = useState<GrantDraft[]>(held);
  const form = useRef<HTMLFormElement>(null);
  const { busy, error, submit } = useSubmit(async () => {
    // Bot grants are not edited here (the bot's Options tab delegates them): keep them.
    const bots = member.grants.filter((g) => g.bot_id);
    await put(`${memberPath(agency.id, member.id)}/grants`, { grants: [...drafts.map(grantOf), ...bots] });
    announce(`Access of ${fullName(member)} saved`);
    onSaved();
  });
  useFocusFirstError(form, error);
  return (
    <form ref={form} onSubmit={submit} noValidate class="panel-form">
      <GrantsEditor value={drafts} onChange={setDrafts} error={error} purpose="manage" />
      {member.status === 'active' || !member.status ? <NotifyNote before={held} after={drafts} who={fullName(member)} /> : null}
      <FormError error={error} fields={['grants']} />
      <div class="actions">
        <button type="button" class="button" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" class="button button-primary" disabled={busy}>
          Save access
        </button>
      </div>
    </form>
  );
}

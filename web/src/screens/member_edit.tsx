// The user panel's two edits of a member: their shortcode (and names, which belong to the
// person: only they or a platform admin change them), and their access per scope, offering
// what the server says the manager may give.
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, patch, put } from '../api';
import { useAgency } from '../agency';
import { fullName } from '../format';
import { useSession } from '../session';
import type { GrantsPreview, Member } from '../types';
import {
  FormError,
  TextField,
  announce,
  fieldMessage,
  useFocusFirstError,
  useId,
  useSubmit,
} from '../ui';
import { GrantDraft, GrantsEditor, draftOf, grantOf, pastCeilingDraft } from './grants_editor';
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

export function ProfileForm({
  member,
  onCancel,
  onSaved,
}: EditProps & { onSaved: (m: Member) => void }) {
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
        </>
      ) : (
        <div class={`field${namesMessage ? ' field-invalid' : ''}`}>
          <p class="field-label">Name</p>
          <p class="names-readonly">
            {fullName({ first_name: member.first_name, last_name: member.last_name }) || '—'}
          </p>
          <p class="hint">
            Names belong to the person: only they change them, in their own account.
          </p>
          {namesMessage ? (
            <p class="field-error" role="alert">
              {namesMessage}
            </p>
          ) : null}
        </div>
      )}
      <TextField
        label="Shortcode"
        name="shortcode"
        value={shortcode}
        onValue={setShortcode}
        error={error}
      />
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
  const [held] = useState<GrantDraft[]>(() =>
    member.grants.filter((g) => !g.bot_id).map((g) => draftOf(g, roles)),
  );
  const [drafts, setDrafts] = useState<GrantDraft[]>(held);
  // What Save would do, asked of the server first (?dry_run=1); Save again applies it.
  const [preview, setPreview] = useState<GrantsPreview | null>(null);
  const form = useRef<HTMLFormElement>(null);
  const path = `${memberPath(agency.id, member.id)}/grants`;
  // Bot grants are not edited here (the bot's Options tab delegates them): keep them.
  const body = () => ({
    grants: [...drafts.map(grantOf), ...member.grants.filter((g) => g.bot_id)],
  });
  const { busy, error, submit } = useSubmit(async () => {
    const late = pastCeilingDraft(drafts);
    if (late) throw late;
    if (!preview) {
      setPreview(await put<GrantsPreview>(`${path}?dry_run=1`, body()));
      return;
    }
    await put(path, body());
    announce(`Access of ${fullName(member)} saved`);
    onSaved();
  });
  useFocusFirstError(form, error);
  const change = (v: GrantDraft[]) => {
    setDrafts(v);
    setPreview(null);
  };
  return (
    <form ref={form} onSubmit={submit} noValidate class="panel-form">
      <GrantsEditor value={drafts} onChange={change} error={error} purpose="manage" />
      {member.status === 'active' || !member.status ? (
        <NotifyNote before={held} after={drafts} who={fullName(member)} />
      ) : null}
      {preview ? <PreviewNote preview={preview} who={fullName(member)} /> : null}
      <FormError error={error} fields={['grants']} />
      <div class="actions">
        {preview ? (
          <button type="button" class="button" onClick={() => setPreview(null)}>
            Back to the choices
          </button>
        ) : null}
        <button type="button" class="button" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" class="button button-primary" disabled={busy}>
          {preview ? 'Confirm and save' : 'Save access'}
        </button>
      </div>
    </form>
  );
}

// The server's answer to the dry run: per scope what would be gained and lost, and where the
// person would start or stop being notified. Nothing has changed yet.
function PreviewNote({ preview, who }: { preview: GrantsPreview; who: string }) {
  const perms = useSession().permissions;
  const words = (name: string) => perms.find((p) => p.name === name)?.description || name;
  const { added, removed } = preview.notification_recipients;
  const titleId = useId('preview');
  const ref = useRef<HTMLElement>(null);
  useEffect(() => {
    ref.current?.focus();
  }, [preview]);
  return (
    <section class="note note-info preview" aria-labelledby={titleId} ref={ref} tabIndex={-1}>
      <p class="field-label" id={titleId}>
        What saving changes (nothing is saved yet)
      </p>
      {preview.changes.length === 0 && !added.length && !removed.length ? (
        <p>Nothing: {who} keeps the same access.</p>
      ) : null}
      <ul class="notify-list">
        {preview.changes.map((c) => (
          <li key={`${c.scope_type}:${c.scope_id}`}>
            <strong>
              {c.scope_type === 'agency' ? `Whole agency (${c.scope_name})` : c.scope_name}
            </strong>
            {c.gained.length ? <span>: gains {c.gained.map(words).join(', ')}</span> : null}
            {c.lost.length ? (
              <span>
                {c.gained.length ? '; ' : ': '}loses {c.lost.map(words).join(', ')}
              </span>
            ) : null}
          </li>
        ))}
        {added.map((r) => (
          <li key={`add:${r.environment_id}`}>
            Starts being notified of incoming chats in {r.environment_name}.
          </li>
        ))}
        {removed.map((r) => (
          <li key={`rm:${r.environment_id}`}>
            Stops being notified of incoming chats in {r.environment_name}.
          </li>
        ))}
      </ul>
    </section>
  );
}

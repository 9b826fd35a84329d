// Places that change and go: renaming an agency, environment or bot; deleting an environment or
// a bot after saying how many people lose what (the server's deletion preview); suspending,
// resuming and deleting an agency (platform admins), with the audit export offered first.
import { useRef, useState } from 'preact/hooks';
import { api, get, patch } from '../api';
import type { Agency } from '../types';
import {
  Dialog,
  FormError,
  LoadProblem,
  Loading,
  TextField,
  announce,
  useFocusFirstError,
  useLoad,
} from '../ui';

export type PlaceKind = 'agency' | 'environment' | 'bot';

const PATHS: Record<PlaceKind, string> = {
  agency: '/agencies',
  environment: '/environments',
  bot: '/bots',
};
const WORDS: Record<PlaceKind, string> = {
  agency: 'agency',
  environment: 'environment',
  bot: 'bot',
};

export function placePath(kind: PlaceKind, id: string): string {
  return `${PATHS[kind]}/${encodeURIComponent(id)}`;
}

// What a deletion takes, as GET …/deletion-preview and DELETE answer it.
export interface Removal {
  grants_removed: number;
  invitations_revoked: number;
  people_affected: number;
  memberships_ended: number;
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

// The preview in words: who loses what, and what stops.
export function removalSentences(r: Removal): string[] {
  const out: string[] = [];
  if (r.people_affected === 0 && r.invitations_revoked === 0) {
    out.push('Nobody has access here: nobody loses anything.');
    return out;
  }
  if (r.people_affected > 0) {
    out.push(
      `${plural(r.people_affected, 'person loses', 'people lose')} their access here ` +
        `(${plural(r.grants_removed, 'grant', 'grants')} removed).`,
    );
  }
  if (r.memberships_ended > 0) {
    out.push(
      `${plural(r.memberships_ended, 'person has', 'people have')} no other access in the agency ` +
        `and ${r.memberships_ended === 1 ? 'stops' : 'stop'} being a member.`,
    );
  }
  if (r.invitations_revoked > 0) {
    out.push(
      `${plural(r.invitations_revoked, 'pending invitation is', 'pending invitations are')} revoked.`,
    );
  }
  return out;
}

interface RenameProps {
  kind: PlaceKind;
  id: string;
  name: string;
  onClose: () => void;
  onRenamed: (name: string) => void;
}

// A dialog with one field: the new name, sent as PATCH {name}.
export function RenameDialog({ kind, id, name, onClose, onRenamed }: RenameProps) {
  const [value, setValue] = useState(name);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const form = useRef<HTMLFormElement>(null);
  useFocusFirstError(form, error);
  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const out = await patch<{ name: string }>(placePath(kind, id), { name: value.trim() });
      announce(`Renamed to ${out.name}`);
      onRenamed(out.name);
      onClose();
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  }
  return (
    <Dialog title={`Rename ${WORDS[kind]} ${name}`} onClose={onClose}>
      <form ref={form} onSubmit={submit} noValidate>
        <TextField
          label="New name"
          name="name"
          value={value}
          onValue={setValue}
          required
          error={error}
        />
        <FormError error={error} fields={['name']} />
        <div class="actions">
          <button type="button" class="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="button button-primary" disabled={busy}>
            {busy ? 'Working…' : 'Rename'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

interface DeleteProps {
  kind: 'environment' | 'bot';
  id: string;
  name: string;
  onClose: () => void;
  onDeleted: () => void;
}

// Deleting an environment or a bot: the preview's counts first, then DELETE.
export function DeletePlaceDialog({ kind, id, name, onClose, onDeleted }: DeleteProps) {
  const preview = useLoad(
    () => get<Removal>(`${placePath(kind, id)}/deletion-preview`),
    [kind, id],
  );
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  async function go() {
    setBusy(true);
    setError(null);
    try {
      const r = await api<Removal>('DELETE', placePath(kind, id));
      announce(
        `${kind === 'bot' ? 'Bot' : 'Environment'} ${name} deleted; ${removalSentences(r!)[0]}`,
      );
      onClose();
      onDeleted();
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  }
  return (
    <Dialog title={`Delete ${WORDS[kind]} ${name}`} onClose={onClose}>
      <div class="confirm-text">
        <p>
          <strong>{name}</strong>
          {kind === 'environment' ? ' and its bots go for good' : ' goes for good'}, with every
          grant and pending invitation on {kind === 'environment' ? 'them' : 'it'}. This cannot be
          undone.
        </p>
        {preview.error ? (
          <LoadProblem error={preview.error} what="What the deletion takes" />
        ) : null}
        {!preview.data ? (
          preview.error ? null : (
            <Loading what="Counting who loses access" />
          )
        ) : (
          <ul class="removal" data-testid="removal-counts">
            {removalSentences(preview.data).map((s) => (
              <li key={s}>{s}</li>
            ))}
          </ul>
        )}
      </div>
      <FormError error={error} fields={[]} />
      <div class="actions">
        <button type="button" class="button" onClick={onClose}>
          Cancel
        </button>
        <button
          type="button"
          class="button button-danger"
          disabled={busy || !preview.data}
          onClick={go}
        >
          {busy ? 'Working…' : `Delete ${WORDS[kind]}`}
        </button>
      </div>
    </Dialog>
  );
}

// Suspending or resuming an agency (platform admins).
export function SuspendDialog({
  agency,
  onClose,
  onChanged,
}: {
  agency: Agency;
  onClose: () => void;
  onChanged: (a: Agency) => void;
}) {
  const suspending = agency.status !== 'suspended';
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  async function go() {
    setBusy(true);
    setError(null);
    try {
      const a = await patch<Agency>(placePath('agency', agency.id), {
        status: suspending ? 'suspended' : 'active',
      });
      announce(suspending ? `${a.name} is suspended` : `${a.name} is active again`);
      onClose();
      onChanged(a);
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  }
  return (
    <Dialog
      title={suspending ? `Suspend ${agency.name}` : `Resume ${agency.name}`}
      onClose={onClose}
    >
      <div class="confirm-text">
        {suspending ? (
          <p>
            Every member and every API token of <strong>{agency.name}</strong> is refused at once.
            Nothing is deleted: resuming gives everything back exactly.
          </p>
        ) : (
          <p>
            Members and API tokens of <strong>{agency.name}</strong> work again at once, with the
            access they had.
          </p>
        )}
      </div>
      <FormError error={error} fields={[]} />
      <div class="actions">
        <button type="button" class="button" onClick={onClose}>
          Cancel
        </button>
        <button
          type="button"
          class={`button ${suspending ? 'button-danger' : 'button-primary'}`}
          disabled={busy}
          onClick={go}
        >
          {busy ? 'Working…' : suspending ? 'Suspend agency' : 'Resume agency'}
        </button>
      </div>
    </Dialog>
  );
}

// Deleting a suspended agency: its exact name typed, the audit export offered first.
export function DeleteAgencyDialog({
  agency,
  onClose,
  onDeleted,
}: {
  agency: Agency;
  onClose: () => void;
  onDeleted: () => void;
}) {
  const [typed, setTyped] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const form = useRef<HTMLFormElement>(null);
  useFocusFirstError(form, error);
  const exportHref = `/api/v1/agencies/${encodeURIComponent(agency.id)}/audit/export?format=csv`;
  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api('DELETE', placePath('agency', agency.id), { confirm: typed });
      announce(`${agency.name} was deleted`);
      onClose();
      onDeleted();
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  }
  return (
    <Dialog title={`Delete ${agency.name}`} onClose={onClose}>
      <form ref={form} onSubmit={submit} noValidate>
        <div class="confirm-text">
          <p>
            Its environments, bots, members, grants, invitations, custom roles and API tokens go for
            good. The audit log stays on the server, but you will no longer find it in the console.
          </p>
          <p>
            <a class="button" href={exportHref} download={`audit-${agency.id}.csv`}>
              Export the audit log first
            </a>
          </p>
        </div>
        <TextField
          label={`Type the agency's name, ${agency.name}, to confirm`}
          name="confirm"
          value={typed}
          onValue={setTyped}
          required
          error={error}
        />
        <FormError error={error} fields={['confirm']} />
        <div class="actions">
          <button type="button" class="button" onClick={onClose}>
            Cancel
          </button>
          <button
            type="submit"
            class="button button-danger"
            disabled={busy || typed !== agency.name}
          >
            {busy ? 'Working…' : 'Delete agency'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

// Roles an agency can grant: the built-in catalogue and the agency's custom roles (an
// identifier, a display name and permissions from the catalogue), which owners and
// organisation managers define. Grants refer to a custom role by its identifier, which is made
// from the name unless given and never changes; the name can.
import { useState } from 'preact/hooks';
import { del, patch, post } from '../api';
import { AgencyShell, useAgency } from '../agency';
import { roleId, roleIdFromName, roleLabel, sentence } from '../format';
import { useSession } from '../session';
import type { Role } from '../types';
import {
  Badge,
  Confirm,
  FormError,
  IconPlus,
  PageTitle,
  TextField,
  announce,
  fieldMessage,
  useId,
} from '../ui';
import { PermissionChips } from './permission_words';

function RoleForm({ role, onDone }: { role?: Role; onDone: () => void }) {
  const { agency, access, reloadRoles } = useAgency();
  const { permissions } = useSession();
  const mine = access.at(agency.id);
  const [name, setName] = useState(role?.name || '');
  const [id, setId] = useState<string | null>(null); // null: made from the name
  const shownId = role?.id || (id ?? roleIdFromName(name));
  const [perms, setPerms] = useState<string[]>(role?.permissions || []);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const groupId = useId('perms');
  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const path = `/agencies/${encodeURIComponent(agency.id)}/roles`;
      if (role?.id)
        await patch(`${path}/${encodeURIComponent(role.id)}`, {
          name: name.trim(),
          permissions: perms,
        });
      else
        await post(path, {
          ...(shownId.trim() ? { id: shownId.trim() } : {}),
          name: name.trim(),
          permissions: perms,
        });
      announce(role ? `Role ${name} saved` : `Role ${name} created`);
      reloadRoles();
      onDone();
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  }
  const msg = fieldMessage(error, 'permissions');
  return (
    <form class="card role-form" onSubmit={submit} noValidate>
      <h2 class="h3">{role ? `Edit ${role.name}` : 'New custom role'}</h2>
      <TextField label="Name" name="name" value={name} onValue={setName} required error={error} />
      {role ? (
        <p class="small">
          Identifier <code>{role.id}</code>: grants and the API refer to the role by it, and it does
          not change.
        </p>
      ) : (
        <TextField
          label="Identifier"
          name="id"
          value={shownId}
          onValue={setId}
          error={error}
          hint="What grants and the API use: lowercase letters, digits and _, starting with a letter. Made from the name unless you change it; it cannot change later."
        />
      )}
      <fieldset
        class={`checks checks-compact${msg ? ' field-invalid' : ''}`}
        aria-describedby={msg ? `${groupId}-error` : undefined}
      >
        <legend>Permissions</legend>
        {permissions
          .filter((p) => mine.has(p.name))
          .map((p) => (
            <label key={p.name} class="check">
              <input
                type="checkbox"
                name="permissions"
                value={p.name}
                checked={perms.includes(p.name)}
                onChange={(e) => {
                  const on = (e.currentTarget as HTMLInputElement).checked;
                  setPerms(on ? [...perms, p.name] : perms.filter((x) => x !== p.name));
                }}
              />
              <span>
                <code>{p.name}</code>
                <span class="check-hint">{p.description}</span>
              </span>
            </label>
          ))}
      </fieldset>
      {msg ? (
        <p class="field-error" id={`${groupId}-error`}>
          {msg}
        </p>
      ) : null}
      <FormError error={error} fields={['id', 'name', 'permissions']} />
      <div class="actions">
        <button type="button" class="button" onClick={onDone}>
          Cancel
        </button>
        <button type="submit" class="button button-primary" disabled={busy}>
          {role ? 'Save role' : 'Create role'}
        </button>
      </div>
    </form>
  );
}

function RoleList() {
  const { agency, roles, access, reloadRoles } = useAgency();
  const [editing, setEditing] = useState<Role | 'new' | null>(null);
  const [deleting, setDeleting] = useState<Role | null>(null);
  // The controls the person holds show; while someone views the studio as them, disabled.
  const canManage = access.shows('agency.manage', agency.id);
  const lock = access.lock();
  return (
    <section class="page">
      <div class="page-head">
        <PageTitle text="Roles" />
        {canManage && !editing ? (
          <button
            type="button"
            class="button button-primary"
            {...lock}
            onClick={() => setEditing('new')}
          >
            <IconPlus /> New custom role
          </button>
        ) : null}
      </div>
      {editing ? (
        <RoleForm role={editing === 'new' ? undefined : editing} onDone={() => setEditing(null)} />
      ) : null}
      <ul class="role-list">
        {roles.map((r) => (
          <li key={roleId(r)} class="card">
            <div class="role-head">
              <h2 class="h3">{roleLabel(r.name)}</h2>
              {r.built_in ? null : <code class="small">{r.id}</code>}
              {r.built_in ? <Badge>built-in</Badge> : <Badge kind="info">custom</Badge>}
              <span class="muted small">{r.scopes.join(', ')}</span>
            </div>
            {r.description ? <p class="small">{sentence(r.description)}</p> : null}
            <PermissionChips names={r.permissions} />
            {!r.built_in && canManage ? (
              <div class="actions actions-start">
                <button
                  type="button"
                  class="button button-small"
                  aria-label={`Edit ${r.name}`}
                  {...lock}
                  onClick={() => setEditing(r)}
                >
                  Edit
                </button>
                <button
                  type="button"
                  class="button button-small button-danger"
                  aria-label={`Delete ${r.name}`}
                  {...lock}
                  onClick={() => setDeleting(r)}
                >
                  Delete
                </button>
              </div>
            ) : null}
          </li>
        ))}
      </ul>
      {deleting ? (
        <Confirm
          title={`Delete ${deleting.name}`}
          confirm="Delete role"
          onClose={() => setDeleting(null)}
          onConfirm={async () => {
            await del(
              `/agencies/${encodeURIComponent(agency.id)}/roles/${encodeURIComponent(roleId(deleting))}`,
            );
            announce(`Role ${deleting.name} deleted`);
            reloadRoles();
          }}
        >
          <p>
            Everyone who holds <strong>{deleting.name}</strong> loses its permissions at once:
          </p>
          <PermissionChips names={deleting.permissions} />
        </Confirm>
      ) : null}
    </section>
  );
}

export function AgencyRoles({ agencyId }: { agencyId: string }) {
  return (
    <AgencyShell agencyId={agencyId} section="roles">
      <RoleList />
    </AgencyShell>
  );
}

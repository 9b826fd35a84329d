// The invite dialog (seeds 000, 002, 003): email, names, shortcode, one or more scopes each
// with several roles and extra permissions, expiry; and the grants editor it shares with the
// user panel. Only roles and permissions within the signed-in user's own are offered.
import { useState } from 'preact/hooks';
import { post } from '../api';
import { useAgency } from '../agency';
import { roleId, roleLabel } from '../format';
import type { Grant, Invitation, Role } from '../types';
import { Dialog, FormError, IconPlus, IconTrash, TextField, announce, fieldMessage, useId } from '../ui';

export interface GrantDraft {
  scope: string; // '' for the whole agency, else an environment id
  roles: string[];
  extra: string[];
}

export function draftOf(g: Grant): GrantDraft {
  return { scope: g.environment_id || '', roles: [...g.roles], extra: [...g.extra_permissions] };
}

export function grantOf(d: GrantDraft): Grant {
  const g: Grant = { roles: d.roles, extra_permissions: d.extra };
  if (d.scope) g.environment_id = d.scope;
  return g;
}

interface EditorProps {
  value: GrantDraft[];
  onChange: (v: GrantDraft[]) => void;
  error: unknown;
  authority: string; // users.invite for invitations, users.manage for changes
  allowEmpty?: boolean;
}

export function GrantsEditor({ value, onChange, error, authority, allowEmpty }: EditorProps) {
  const { agency, environments, roles, access } = useAgency();
  const scopes = [
    ...(access.can(authority, agency.id) ? [{ id: '', name: 'Whole agency (ripples down to every environment)' }] : []),
    ...environments.filter((e) => access.can(authority, agency.id, { environmentId: e.id })),
  ];
  const update = (i: number, d: Partial<GrantDraft>) => onChange(value.map((g, k) => (k === i ? { ...g, ...d } : g)));
  const unused = scopes.filter((s) => !value.some((g) => g.scope === s.id));
  const groupMessage = fieldMessage(error, 'grants');
  return (
    <div class="grants-editor">
      {value.map((g, i) => {
        const scopeType = g.scope ? 'environment' : 'agency';
        const scope = g.scope ? { environmentId: g.scope } : {};
        const offered = access.grantable(agency.id, scope, scopeType, roles);
        const mine = access.at(agency.id, scope);
        const fromRoles = new Set(roles.filter((r) => g.roles.includes(roleId(r))).flatMap((r) => r.permissions));
        const extras = [...mine].filter((p) => !fromRoles.has(p)).sort();
        const msg = fieldMessage(error, `grants[${i}]`);
        return (
          <GrantRow
            key={i}
            index={i}
            draft={g}
            scopes={scopes.filter((s) => s.id === g.scope || !value.some((o) => o.scope === s.id))}
            offered={offered}
            extras={extras}
            message={msg}
            canRemove={allowEmpty || value.length > 1}
            onChange={(d) => update(i, d)}
            onRemove={() => onChange(value.filter((_, k) => k !== i))}
          />
        );
      })}
      {groupMessage && !value.some((_, i) => fieldMessage(error, `grants[${i}]`)) ? (
        <p class="field-error">{groupMessage}</p>
      ) : null}
      {unused.length ? (
        <button
          type="button"
          class="button button-small"
          onClick={() => onChange([...value, { scope: unused[0].id, roles: [], extra: [] }])}
        >
          <IconPlus /> Add another scope
        </button>
      ) : null}
    </div>
  );
}

interface RowProps {
  index: number;
  draft: GrantDraft;
  scopes: { id: string; name: string }[];
  offered: Role[];
  extras: string[];
  message: string | null;
  canRemove: boolean;
  onChange: (d: Partial<GrantDraft>) => void;
  onRemove: () => void;
}

function GrantRow({ index, draft, scopes, offered, extras, message, canRemove, onChange, onRemove }: RowProps) {
  const id = useId('grant');
  const toggle = (list: string[], v: string, on: boolean) => (on ? [...list, v] : list.filter((x) => x !== v));
  return (
    <fieldset class={`grant-row${message ? ' field-invalid' : ''}`} aria-describedby={message ? `${id}-error` : undefined}>
      <legend>Access {index + 1}</legend>
      <div class="field">
        <label for={`${id}-scope`}>Where</label>
        <select
          id={`${id}-scope`}
          name={`grants[${index}].scope`}
          value={draft.scope}
          onChange={(e) => onChange({ scope: (e.currentTarget as HTMLSelectElement).value, roles: [], extra: [] })}
        >
          {scopes.map((s) => (
            <option key={s.id} value={s.id}>
              {s.name}
            </option>
          ))}
        </select>
      </div>
      <fieldset class="checks">
        <legend>Roles</legend>
        {offered.length === 0 ? <p class="muted small">You cannot grant any role here.</p> : null}
        {offered.map((r) => (
          <label key={roleId(r)} class="check">
            <input
              type="checkbox"
              name={`grants[${index}].roles`}
              value={roleId(r)}
              checked={draft.roles.includes(roleId(r))}
              onChange={(e) => onChange({ roles: toggle(draft.roles, roleId(r), (e.currentTarget as HTMLInputElement).checked) })}
            />
            <span>
              {roleLabel(r.name)}
              {r.built_in ? null : <span class="badge badge-neutral">custom</span>}
              {r.description ? <span class="check-hint">{r.description}</span> : null}
            </span>
          </label>
        ))}
      </fieldset>
      {extras.length ? (
        <details class="extras" open={draft.extra.length > 0}>
          <summary>Extra permissions{draft.extra.length ? ` (${draft.extra.length})` : ''}</summary>
          <fieldset class="checks checks-compact">
            <legend class="visually-hidden">Extra permissions</legend>
            {extras.map((p) => (
              <label key={p} class="check">
                <input
                  type="checkbox"
                  name={`grants[${index}].extra_permissions`}
                  value={p}
                  checked={draft.extra.includes(p)}
                  onChange={(e) => onChange({ extra: toggle(draft.extra, p, (e.currentTarget as HTMLInputElement).checked) })}
                />
                <span>
                  <code>{p}</code>
                </span>
              </label>
            ))}
          </fieldset>
        </details>
      ) : null}
      {message ? (
        <p class="field-error" id={`${id}-error`}>
          {message}
        </p>
      ) : null}
      {canRemove ? (
        <button type="button" class="button button-small button-quiet" onClick={onRemove}>
          <IconTrash /> Remove this access
        </button>
      ) : null}
    </fieldset>
  );
}

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
  const startScope =
    environmentId ??
    (access.can('users.invite', agency.id)
      ? ''
      : environments.find((e) => access.can('users.invite', agency.id, { environmentId: e.id }))?.id || '');
  const [email, setEmail] = useState('');
  const [first, setFirst] = useState('');
  const [last, setLast] = useState('');
  const [shortcode, setShortcode] = useState('');
  const [grants, setGrants] = useState<GrantDraft[]>([{ scope: startScope, roles: [], extra: [] }]);
  const [expiry, setExpiry] = useState(604800);
  const [sendEmail, setSendEmail] = useState(true);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const expiryId = useId('expiry');

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const body: Record<string, unknown> = {
      email: email.trim(),
      grants: grants.map(grantOf),
      expires_in_seconds: expiry,
      send_email: sendEmail,
    };
    if (first.trim()) body.first_name = first.trim();
    if (last.trim()) body.last_name = last.trim();
    if (shortcode.trim()) body.shortcode = shortcode.trim();
    try {
      const inv = await post<Invitation>(`/agencies/${encodeURIComponent(agency.id)}/invitations`, body);
      announce(sendEmail ? `Invitation sent to ${inv.email}` : `Invitation created for ${inv.email}`);
      onSent?.(inv);
      onClose();
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  }

  return (
    <Dialog title="Invite user" onClose={onClose} wide>
      <form onSubmit={submit} noValidate>
        <TextField label="Email" name="email" type="email" value={email} onValue={setEmail} required autoComplete="off" error={error} />
        <div class="row-2">
          <TextField label="First name" name="first_name" value={first} onValue={setFirst} error={error} />
          <TextField label="Last name" name="last_name" value={last} onValue={setLast} error={error} />
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
        <GrantsEditor value={grants} onChange={setGrants} error={error} authority="users.invite" />
        <div class="field">
          <label for={expiryId}>Link valid for</label>
          <select id={expiryId} name="expires_in_seconds" value={String(expiry)} onChange={(e) => setExpiry(Number((e.currentTarget as HTMLSelectElement).value))}>
            {EXPIRY.map((x) => (
              <option key={x.seconds} value={String(x.seconds)}>
                {x.label}
              </option>
            ))}
          </select>
          {fieldMessage(error, 'expires_in_seconds') ? <p class="field-error">{fieldMessage(error, 'expires_in_seconds')}</p> : null}
        </div>
        <label class="check">
          <input type="checkbox" name="send_email" checked={sendEmail} onChange={(e) => setSendEmail((e.currentTarget as HTMLInputElement).checked)} />
          <span>Send the invitation by email (otherwise copy the link from the user table)</span>
        </label>
        <FormError error={error} fields={['email', 'first_name', 'last_name', 'shortcode', 'grants', 'expires_in_seconds']} />
        <div class="actions">
          <button type="button" class="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="button button-primary" disabled={busy}>
            {busy ? 'Sending…' : sendEmail ? 'Send invitation' : 'Create invitation'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

// One scope of the grants editor: where, then the roles the server says the signed-in person
// may give there (the others listed apart with the reason), then the extra permissions.
import type { ComponentChildren } from 'preact';
import type { ScopeOffer } from '../grantable';
import { roleLabel, sentence } from '../format';
import type { GrantableRole, Role } from '../types';
import { IconTrash, useId } from '../ui';
import { ExtraChoices } from './grant_extras';
import type { GrantDraft } from './grants_editor';

// Why a role is not offered, as a sentence: the server's reasons either go on from the role's
// name ("is given for the whole agency only") or stand alone ("you need users.invite …").
function reasonText(label: string, reason: string | null): string {
  const r = reason || 'you may not give it here';
  return r.startsWith('is ') ? sentence(`${label} ${r}`) : sentence(r);
}

const toggle = (list: string[], v: string, on: boolean) =>
  on ? [...list, v] : list.filter((x) => x !== v);

interface RowProps {
  index: number;
  draft: GrantDraft;
  scopes: { id: string; name: string }[];
  offer: ScopeOffer;
  onRetry: () => void;
  catalogue: Role[]; // the agency's roles, for their descriptions and permissions
  message: string | null;
  canRemove: boolean;
  onChange: (d: Partial<GrantDraft>) => void;
  onRemove: () => void;
  children?: ComponentChildren; // more fields of the grant, after its permissions
}

export function GrantRow(props: RowProps) {
  const {
    index,
    draft,
    scopes,
    offer,
    onRetry,
    catalogue,
    message,
    canRemove,
    onChange,
    onRemove,
    children,
  } = props;
  const id = useId('grant');
  const known = (v: string) =>
    catalogue.find((r) => (r.built_in ? r.name === v : r.id === v || r.name === v));
  const fromRoles = new Set(draft.roles.flatMap((v) => known(v)?.permissions || []));
  return (
    <fieldset
      class={`grant-row${message ? ' field-invalid' : ''}`}
      aria-describedby={message ? `${id}-error` : undefined}
    >
      <legend>Access {index + 1}</legend>
      <div class="field">
        <label for={`${id}-scope`}>Where</label>
        <select
          id={`${id}-scope`}
          name={`grants[${index}].scope`}
          value={draft.scope}
          onChange={(e) =>
            onChange({ scope: (e.currentTarget as HTMLSelectElement).value, roles: [], extra: [] })
          }
        >
          {scopes.map((s) => (
            <option key={s.id} value={s.id}>
              {s.name}
            </option>
          ))}
        </select>
      </div>
      {offer.error ? (
        <div class="note note-error">
          <p>What you may give here could not be loaded: {offer.error.message}</p>
          <button type="button" class="button button-small" onClick={onRetry}>
            Try again
          </button>
        </div>
      ) : !offer.data ? (
        <p class="muted" role="status">
          Loading what you may give here…
        </p>
      ) : (
        <>
          <RoleChoices
            index={index}
            roles={offer.data.roles}
            draft={draft}
            describe={(v) => known(v)?.description}
            onChange={onChange}
          />
          <ExtraChoices
            index={index}
            permissions={offer.data.extra_permissions}
            draft={draft}
            fromRoles={fromRoles}
            onChange={onChange}
          />
        </>
      )}
      {children}
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

interface RoleProps {
  index: number;
  roles: GrantableRole[];
  draft: GrantDraft;
  describe: (id: string) => string | undefined;
  onChange: (d: Partial<GrantDraft>) => void;
}

// The roles that may be given, as checkboxes; a role already chosen that may not be given stays
// a checkbox (so it can be taken away) with its reason; the rest are listed with their reason.
function RoleChoices({ index, roles, draft, describe, onChange }: RoleProps) {
  const id = useId('roles');
  const shown = roles.filter((r) => r.grantable || draft.roles.includes(r.id));
  const missing = roles.filter((r) => !r.grantable && !draft.roles.includes(r.id));
  return (
    <>
      <fieldset class="checks">
        <legend>Roles</legend>
        {shown.length === 0 ? <p class="muted small">You cannot give any role here.</p> : null}
        {shown.map((r) => {
          const label = roleLabel(r.name);
          const description = describe(r.id);
          const reasonId = `${id}-${r.id}-reason`;
          return (
            <label key={r.id} class="check">
              <input
                type="checkbox"
                name={`grants[${index}].roles`}
                value={r.id}
                checked={draft.roles.includes(r.id)}
                aria-describedby={r.grantable ? undefined : reasonId}
                onChange={(e) =>
                  onChange({
                    roles: toggle(draft.roles, r.id, (e.currentTarget as HTMLInputElement).checked),
                  })
                }
              />
              <span>
                {label}
                {r.built_in ? null : <span class="badge badge-neutral">custom</span>}
                {description ? <span class="check-hint">{description}</span> : null}
                {r.grantable ? null : (
                  <span class="check-reason" id={reasonId}>
                    {reasonText(label, r.reason)}
                  </span>
                )}
              </span>
            </label>
          );
        })}
      </fieldset>
      {missing.length ? (
        <div class="unavailable">
          <p class="unavailable-head" id={`${id}-missing`}>
            Not available here
          </p>
          <ul aria-labelledby={`${id}-missing`}>
            {missing.map((r) => {
              // "Owner: only an owner makes …", "Organisation manager is given for …".
              const why = r.reason || 'you may not give it here';
              return (
                <li key={r.id}>
                  <strong>{roleLabel(r.name)}</strong>
                  {why.startsWith('is ') ? ` ${why.replace(/\.?$/, '.')}` : `: ${sentence(why)}`}
                </li>
              );
            })}
          </ul>
        </div>
      ) : null}
    </>
  );
}

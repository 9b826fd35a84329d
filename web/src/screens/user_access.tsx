// A member's access in the users overview's right panel (user_panel.tsx): one line per
// environment with how they stand there ("inherited from agency", "overridden here"), the
// permissions that gives on request, removal from one environment, and their bots' grants.
import { del } from '../api';
import { fullName, roleName } from '../format';
import type { Environment, Member, MemberAccess, Role } from '../types';
import { Badge, Confirm, announce } from '../ui';
import { GrantList } from './grants';

// The roles and extra permissions of one environment in words.
export function standing(a: MemberAccess, roles: Role[]): string {
  const parts = a.roles.map((id) => roleName(id, roles));
  if (a.extra_permissions.length) parts.push(`+ ${a.extra_permissions.join(', ')}`);
  if (parts.length) return parts.join(', ');
  return a.removed ? 'No access: removed from this environment' : 'No access';
}

function AccessBadge({ access }: { access: MemberAccess['access'] }) {
  if (access === 'overridden') return <Badge kind="info">overridden here</Badge>;
  if (access === 'granted') return <Badge kind="info">granted here</Badge>;
  if (access === 'inherited') return <Badge kind="neutral">inherited from agency</Badge>;
  return null;
}

interface EnvironmentAccessProps {
  a: MemberAccess;
  roles: Role[];
  permsShown: boolean;
  onTogglePerms: () => void;
  // Absent when this member may not be removed here by the viewer.
  onRemove?: () => void;
  readOnly: boolean;
}

function EnvironmentAccess({
  a,
  roles,
  permsShown,
  onTogglePerms,
  onRemove,
  readOnly,
}: EnvironmentAccessProps) {
  return (
    <li>
      <div class="env-access-head">
        <strong>{a.name}</strong>
        <AccessBadge access={a.access} />
      </div>
      <p class="small">{standing(a, roles)}</p>
      <div class="env-access-actions">
        {a.permissions.length ? (
          <button
            type="button"
            class="button button-small button-quiet"
            aria-expanded={permsShown}
            onClick={onTogglePerms}
          >
            Permissions
          </button>
        ) : null}
        {onRemove ? (
          <button
            type="button"
            class="button button-small button-quiet"
            disabled={readOnly}
            onClick={onRemove}
          >
            Remove from this environment
          </button>
        ) : null}
      </div>
      {permsShown ? (
        <p class="perms">
          {a.permissions.map((p) => (
            <code key={p} class="perm">
              {p}
            </code>
          ))}
        </p>
      ) : null}
    </li>
  );
}

interface AccessListProps {
  member: Member;
  roles: Role[];
  environments: Environment[];
  // Whether the viewer may remove the member from an environment (never themselves).
  removable: (a: MemberAccess) => boolean;
  readOnly: boolean;
  showPerms: string | null;
  onShowPerms: (environmentId: string | null) => void;
  onRemove: (a: MemberAccess) => void;
}

export function AccessList({
  member,
  roles,
  environments,
  removable,
  readOnly,
  showPerms,
  onShowPerms,
  onRemove,
}: AccessListProps) {
  const botGrants = member.grants.filter((g) => g.bot_id);
  return (
    <>
      <ul class="env-access">
        {(member.access || []).map((a) => (
          <EnvironmentAccess
            key={a.environment_id}
            a={a}
            roles={roles}
            permsShown={showPerms === a.environment_id}
            onTogglePerms={() =>
              onShowPerms(showPerms === a.environment_id ? null : a.environment_id)
            }
            onRemove={removable(a) ? () => onRemove(a) : undefined}
            readOnly={readOnly}
          />
        ))}
      </ul>
      {botGrants.length ? (
        <>
          <h3>Bots</h3>
          <GrantList grants={botGrants} environments={environments} />
        </>
      ) : null}
    </>
  );
}

// The confirmation before removing a member from one environment; onRemoved after it is done.
export function RemoveFromEnvironment({
  member,
  removing,
  roles,
  onClose,
  onRemoved,
}: {
  member: Member;
  removing: MemberAccess;
  roles: Role[];
  onClose: () => void;
  onRemoved: () => void;
}) {
  return (
    <Confirm
      title={`Remove from ${removing.name}`}
      confirm="Remove from environment"
      onClose={onClose}
      onConfirm={async () => {
        await del(
          `/environments/${encodeURIComponent(removing.environment_id)}/users/${encodeURIComponent(member.id)}`,
        );
        announce(`${fullName(member)} no longer has access to ${removing.name}`);
        onRemoved();
      }}
    >
      <p>
        {fullName(member)} loses access to <strong>{removing.name}</strong> at once, even where an
        agency role would ripple down, and keeps their access elsewhere. They lose:{' '}
        {standing(removing, roles)}.
      </p>
    </Confirm>
  );
}

// A member's access in the users overview's right panel (user_panel.tsx): one line per
// environment with how they stand there ("inherited from agency", "overridden here"), the
// permissions that gives on request, removal from one environment, and their bots' grants.
import type { Lock } from '../access';
import { del } from '../api';
import { fullName, roleName } from '../format';
import type { Environment, Member, MemberAccess, Role } from '../types';
import { Badge, Confirm, announce } from '../ui';
import { GrantList, RolesWords } from './grants';
import { PermissionChips, usePermissionWords } from './permission_words';

// The roles and extra permissions of one environment in words; words names an extra
// permission (its description: usePermissionWords).
export function standing(a: MemberAccess, roles: Role[], words: (p: string) => string): string {
  const parts = a.roles.map((id) => roleName(id, roles));
  if (a.extra_permissions.length) parts.push(`+ ${a.extra_permissions.map(words).join(', ')}`);
  if (parts.length) return parts.join(', ');
  return a.removed ? 'No access: removed from this environment' : 'No access';
}

// standing() on the screen, each extra permission with its code beside its description.
function Standing({ a, roles }: { a: MemberAccess; roles: Role[] }) {
  if (!a.extra_permissions.length) return <>{standing(a, roles, (p) => p)}</>;
  const names = a.roles.map((id) => roleName(id, roles)).join(', ');
  return <RolesWords roles={names} extra={a.extra_permissions} />;
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
  lock: Lock; // disabled while viewing as someone
}

function EnvironmentAccess({
  a,
  roles,
  permsShown,
  onTogglePerms,
  onRemove,
  lock,
}: EnvironmentAccessProps) {
  return (
    <li>
      <div class="env-access-head">
        <strong>{a.name}</strong>
        <AccessBadge access={a.access} />
      </div>
      <p class="small">
        <Standing a={a} roles={roles} />
      </p>
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
            {...lock}
            onClick={onRemove}
          >
            Remove from this environment
          </button>
        ) : null}
      </div>
      {permsShown ? <PermissionChips names={a.permissions} /> : null}
    </li>
  );
}

interface AccessListProps {
  member: Member;
  roles: Role[];
  environments: Environment[];
  // Whether the viewer may remove the member from an environment (never themselves).
  removable: (a: MemberAccess) => boolean;
  lock: Lock;
  showPerms: string | null;
  onShowPerms: (environmentId: string | null) => void;
  onRemove: (a: MemberAccess) => void;
}

export function AccessList({
  member,
  roles,
  environments,
  removable,
  lock,
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
            lock={lock}
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
  const words = usePermissionWords();
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
        {standing(removing, roles, words)}.
      </p>
    </Confirm>
  );
}

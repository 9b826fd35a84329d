// Grants as words: "Operator, Agent — Acme production". Grants name roles by id; custom roles
// show their display name where the agency's roles are known; places show their name, from
// the grant itself, the agency's environments or a look-up (place_names.ts).
import { useAgencyRoles } from '../agency';
import { roleName } from '../format';
import type { Environment, Grant, Places, Role } from '../types';
import { ExtraPermissions } from './permission_words';
import { PlaceNames, usePlaceNames } from './place_names';

// Where a grant applies, named: "Whole agency", "Acme – production", "Support bot (bot in
// Acme – production)".
export function scopeLabel(g: Grant, environments?: Environment[], names?: PlaceNames): string {
  const envName = (id: string | undefined) =>
    id ? environments?.find((e) => e.id === id)?.name || names?.environments[id] : undefined;
  if (g.bot_id) {
    const bot = names?.bots[g.bot_id];
    const name = bot?.name;
    if (!name) return names?.pending ? 'Bot…' : 'A bot you cannot see';
    const where = envName(bot?.environment_id);
    return where ? `${name} (bot in ${where})` : `${name} (bot)`;
  }
  if (g.environment_id) {
    const name = envName(g.environment_id);
    if (name) return name;
    return names?.pending ? 'Environment…' : 'An environment you cannot see';
  }
  return 'Whole agency';
}

const shortDay = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short' });
const longDay = new Intl.DateTimeFormat(undefined, {
  day: 'numeric',
  month: 'short',
  year: 'numeric',
});

// "until 31 Jan" for an end-dated grant (the year when it is not this one); null otherwise.
export function untilText(g: Grant): string | null {
  if (!g.expires_at) return null;
  const d = new Date(g.expires_at);
  if (Number.isNaN(d.getTime())) return null;
  const f = d.getFullYear() === new Date().getFullYear() ? shortDay : longDay;
  return `until ${f.format(d)}`;
}

// The roles and extra permissions of a grant in words; words names an extra permission (its
// description: usePermissionWords), its code when not given.
export function rolesText(
  g: Grant,
  roles: Role[] = [],
  words: (permission: string) => string = (p) => p,
): string {
  const parts = g.roles.map((id) => roleName(id, roles));
  if (g.extra_permissions.length) parts.push(`+ ${g.extra_permissions.map(words).join(', ')}`);
  return parts.length ? parts.join(', ') : 'No access';
}

// The same as rolesText, each extra permission by its description with its code beside it.
export function RolesWords({ roles, extra }: { roles: string; extra: string[] }) {
  if (!extra.length) return <>{roles || 'No access'}</>;
  return (
    <>
      {roles ? `${roles}, ` : ''}+ <ExtraPermissions names={extra} />
    </>
  );
}

// An end date after the roles, where the grant has one.
export function Until({ grant }: { grant: Grant }) {
  const text = untilText(grant);
  if (!text) return null;
  return (
    <span class="grant-until" title={new Date(grant.expires_at!).toLocaleString()}>
      {' '}
      {text}
    </span>
  );
}

interface GrantListProps {
  grants: Grant[];
  environments?: Environment[];
  places?: Places; // names the answer carried (invitations)
}

export function GrantList({ grants, environments, places }: GrantListProps) {
  const roles = useAgencyRoles();
  const names = usePlaceNames(grants, environments, places);
  if (!grants.length) return <p class="muted">No roles.</p>;
  return (
    <ul class="grant-list">
      {grants.map((g, i) => (
        <li key={i}>
          <span class="grant-scope">{scopeLabel(g, environments, names)}</span>
          <span class="grant-roles">
            <RolesWords
              roles={g.roles.map((id) => roleName(id, roles)).join(', ')}
              extra={g.extra_permissions}
            />
            <Until grant={g} />
          </span>
        </li>
      ))}
    </ul>
  );
}

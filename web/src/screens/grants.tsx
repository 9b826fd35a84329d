// Grants as words: "Operator, Agent — Acme production". Grants name roles by id; custom roles
// show their display name where the agency's roles are known.
import { environmentName, useAgencyRoles } from '../agency';
import { roleName } from '../format';
import type { Environment, Grant, Role } from '../types';

export function scopeLabel(g: Grant, environments?: Environment[], bots?: { id: string; name: string }[]): string {
  if (g.bot_id) return bots?.find((b) => b.id === g.bot_id)?.name || 'One bot';
  if (g.environment_id) return environments ? environmentName(environments, g.environment_id) : 'One environment';
  return 'Whole agency';
}

export function rolesText(g: Grant, roles: Role[] = []): string {
  const parts = g.roles.map((id) => roleName(id, roles));
  if (g.extra_permissions.length) parts.push(`+ ${g.extra_permissions.join(', ')}`);
  return parts.length ? parts.join(', ') : 'No access';
}

export function GrantList({ grants, environments }: { grants: Grant[]; environments?: Environment[] }) {
  const roles = useAgencyRoles();
  if (!grants.length) return <p class="muted">No roles.</p>;
  return (
    <ul class="grant-list">
      {grants.map((g, i) => (
        <li key={i}>
          <span class="grant-scope">{scopeLabel(g, environments)}</span>
          <span class="grant-roles">{rolesText(g, roles)}</span>
        </li>
      ))}
    </ul>
  );
}

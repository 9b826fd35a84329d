// Grants as words: "Operator, Agent — Acme production".
import { environmentName } from '../agency';
import { roleLabel } from '../format';
import type { Environment, Grant } from '../types';

export function scopeLabel(g: Grant, environments?: Environment[], bots?: { id: string; name: string }[]): string {
  if (g.bot_id) return bots?.find((b) => b.id === g.bot_id)?.name || 'One bot';
  if (g.environment_id) return environments ? environmentName(environments, g.environment_id) : 'One environment';
  return 'Whole agency';
}

export function rolesText(g: Grant): string {
  const parts = g.roles.map(roleLabel);
  if (g.extra_permissions.length) parts.push(`+ ${g.extra_permissions.join(', ')}`);
  return parts.length ? parts.join(', ') : 'No access';
}

export function GrantList({ grants, environments }: { grants: Grant[]; environments?: Environment[] }) {
  if (!grants.length) return <p class="muted">No roles.</p>;
  return (
    <ul class="grant-list">
      {grants.map((g, i) => (
        <li key={i}>
          <span class="grant-scope">{scopeLabel(g, environments)}</span>
          <span class="grant-roles">{rolesText(g)}</span>
        </li>
      ))}
    </ul>
  );
}

// The table of the users overview: one row per member or invitation, with where they have
// access (named places, end dates), status and dates, and the row's actions in a narrow column
// that stays in view beside the name however wide the table is. Below 760 px rows are cards.
import { useAgency, useAgencyRoles } from '../agency';
import { day, fullName, when } from '../format';
import { Link } from '../router';
import { useSession } from '../session';
import type { Member } from '../types';
import { Badge } from '../ui';
import { rolesText, scopeLabel, Until } from './grants';
import { usePermissionWords } from './permission_words';
import { usePlaceNames } from './place_names';
import { RowAction, RowActions } from './row_actions';

// Rows that stand for an invitation rather than a member.
export const INVITATION_STATUSES = ['invited', 'expired', 'revoked'];
export const isInvitation = (m: Member) => INVITATION_STATUSES.includes(m.status);
export const invitationId = (m: Member) => m.invitation_id || m.id;

const STATUS_WORDS: Record<string, string> = {
  active: 'Active',
  invited: 'Invited',
  expired: 'Invitation expired',
  revoked: 'Invitation revoked',
};

function StatusBadge({ status }: { status: string }) {
  const kinds: Record<string, string> = { active: 'ok', invited: 'info', expired: 'warn' };
  const words = STATUS_WORDS[status] || status.charAt(0).toUpperCase() + status.slice(1);
  return <Badge kind={kinds[status] || 'neutral'}>{words}</Badge>;
}

// Whether a member signs in with two-step verification (nothing for invitations, or on a server
// without it).
function SecondFactorMark({ member }: { member: Member }) {
  if (isInvitation(member) || typeof member.second_factor !== 'boolean') return null;
  return member.second_factor ? (
    <span class="badge badge-ok badge-2step" title="Two-step verification is on">
      2-step<span class="visually-hidden"> verification on</span>
    </span>
  ) : (
    <span class="badge badge-neutral badge-2step" title="Two-step verification is off">
      No 2-step<span class="visually-hidden"> verification</span>
    </span>
  );
}

const METHOD_WORDS: Record<string, string> = { password: 'Password', oidc: 'Company login' };

// How a member signs in: a password, a company login, or both (nothing for invitations).
function SignInMethods({ member }: { member: Member }) {
  const methods = member.sign_in_methods || [];
  if (isInvitation(member)) return <span class="muted">—</span>;
  if (!methods.length) return <span class="muted">none yet</span>;
  return (
    <ul class="cell-list">
      {methods.map((m) => (
        <li key={m}>{METHOD_WORDS[m] || m}</li>
      ))}
    </ul>
  );
}

// Where a person has access, one line per grant: "Acme – production: Operator until 31 Jan".
export function AccessCell({ member }: { member: Member }) {
  const { environments } = useAgency();
  const roles = useAgencyRoles();
  const names = usePlaceNames(member.grants, environments);
  const words = usePermissionWords();
  if (!member.grants.length) return <span class="muted">none</span>;
  return (
    <ul class="cell-list">
      {member.grants.map((g, i) => (
        <li key={i}>
          <span class="muted">{scopeLabel(g, environments, names)}:</span>{' '}
          {rolesText(g, roles, words)}
          <Until grant={g} />
        </li>
      ))}
    </ul>
  );
}

interface TableProps {
  rows: Member[];
  caption: string;
  hrefOf: (m: Member) => string;
  isOpen: (m: Member) => boolean;
  actionsOf: (m: Member) => RowAction[];
  copied: string | null;
}

export function UsersTable({ rows, caption, hrefOf, isOpen, actionsOf, copied }: TableProps) {
  // A server with company sign-in says how each member signs in.
  const showMethods = rows.some((m) => Array.isArray(m.sign_in_methods));
  const selfId = useSession().me?.user.id;
  return (
    <div class="table-wrap users-table-wrap" role="region" aria-label="Users table" tabIndex={0}>
      <table class="table table-cards users-table">
        <caption class="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            <th scope="col" class="col-name">
              Name
            </th>
            <th scope="col" class="col-actions">
              <span class="visually-hidden">Actions</span>
            </th>
            <th scope="col">Shortcode</th>
            <th scope="col">Access</th>
            <th scope="col">Status</th>
            {showMethods ? <th scope="col">Sign-in</th> : null}
            <th scope="col">Last active</th>
            <th scope="col">Created</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((m) => {
            const invitation = isInvitation(m);
            const name = fullName(m);
            return (
              <tr key={`${m.status}-${m.id}`} class={isOpen(m) ? 'selected' : undefined}>
                <th scope="row" class="col-name">
                  <Link href={hrefOf(m)}>{name}</Link>
                  {name !== m.email ? <span class="cell-email">{m.email}</span> : null}
                </th>
                <td class="row-actions col-actions">
                  <RowActions
                    name={name}
                    actions={actionsOf(m)}
                    note={!invitation && m.id === selfId ? 'You' : undefined}
                  />
                  {invitation && copied === invitationId(m) ? (
                    <span class="copied">Link copied</span>
                  ) : null}
                </td>
                <td data-label="Shortcode">{m.shortcode || <span class="muted">—</span>}</td>
                <td data-label="Access">
                  <AccessCell member={m} />
                </td>
                <td data-label="Status">
                  <StatusBadge status={m.status} />
                  <SecondFactorMark member={m} />
                </td>
                {showMethods ? (
                  <td data-label="Sign-in">
                    <SignInMethods member={m} />
                  </td>
                ) : null}
                <td data-label="Last active">
                  {invitation ? <span class="muted">—</span> : when(m.last_active_at)}
                </td>
                <td data-label="Created" class="nowrap">
                  {day(m.created_at)}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

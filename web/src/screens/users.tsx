// The users overview (seeds 000 and 004, SPEC §6): members and pending invitations of an
// agency with search, filters, sorting and pages; the three row icons (copy the invitation
// link, impersonate, remove); and the right panel with a user's details, grants per
// environment and audit log.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { ApiError, del, get, messageOf, post, withQuery } from '../api';
import { AgencyShell, environmentName, getAll, useAgency } from '../agency';
import { day, fullName, roleLabel, when } from '../format';
import { Link, navigate, useLocation } from '../router';
import { useSession } from '../session';
import type { Environment, Grant, Invitation, Member, Page } from '../types';
import {
  Badge,
  Confirm,
  Dialog,
  IconClipboard,
  IconPersonArrow,
  IconPlus,
  IconTrash,
  LoadProblem,
  Loading,
  NotAvailable,
  PageTitle,
  announce,
  copyText,
  useId,
  useLoad,
} from '../ui';
import { scopeLabel, rolesText } from './grants';
import { InviteDialog } from './invite';
import { InvitationPanel, UserPanel } from './user_panel';

// One row of the table: a member, or a person invited and not yet in.
export interface Row {
  key: string;
  kind: 'member' | 'invitation';
  id: string; // user id or invitation id
  email: string;
  name: string;
  shortcode: string | null;
  status: string;
  grants: Grant[];
  environmentIds: string[];
  lastActive: string | null;
  created: string | null;
  member?: Member;
  invitation?: Invitation;
}

// The environments where grants give access (an environment grant with no role is "no access").
export function environmentsWithAccess(grants: Grant[], envs: Environment[]): string[] {
  const agency = grants.find((g) => !g.environment_id && !g.bot_id);
  const hasAny = (g?: Grant) => !!g && (g.roles.length > 0 || g.extra_permissions.length > 0);
  return envs
    .filter((e) => {
      const own = grants.find((g) => g.environment_id === e.id);
      return own ? hasAny(own) : hasAny(agency);
    })
    .map((e) => e.id);
}

function memberRow(m: Member, envs: Environment[]): Row {
  return {
    key: `m:${m.id}`,
    kind: 'member',
    id: m.id,
    email: m.email,
    name: fullName(m),
    shortcode: m.shortcode ?? null,
    status: m.status,
    grants: m.grants || [],
    environmentIds: m.environment_ids || environmentsWithAccess(m.grants || [], envs),
    lastActive: m.last_active_at ?? null,
    created: m.created_at ?? null,
    member: m,
  };
}

function invitationRow(inv: Invitation, envs: Environment[]): Row {
  return {
    key: `i:${inv.id}`,
    kind: 'invitation',
    id: inv.id,
    email: inv.email,
    name: fullName({ first_name: inv.first_name, last_name: inv.last_name }),
    shortcode: inv.shortcode,
    status: 'invited',
    grants: inv.grants,
    environmentIds: environmentsWithAccess(inv.grants, envs),
    lastActive: null,
    created: inv.created_at,
    invitation: inv,
  };
}

const SORTS: Record<string, { label: string; cmp: (a: Row, b: Row) => number }> = {
  name: { label: 'Name', cmp: (a, b) => (a.name || a.email).localeCompare(b.name || b.email) },
  email: { label: 'Email', cmp: (a, b) => a.email.localeCompare(b.email) },
  last_active: { label: 'Last active (recent first)', cmp: (a, b) => (b.lastActive || '').localeCompare(a.lastActive || '') },
  created: { label: 'Created (newest first)', cmp: (a, b) => (b.created || '').localeCompare(a.created || '') },
};

function matches(row: Row, q: string, env: string, role: string): boolean {
  if (q) {
    const hay = `${row.name} ${row.email} ${row.shortcode || ''}`.toLowerCase();
    if (!hay.includes(q.toLowerCase())) return false;
  }
  if (env && !row.environmentIds.includes(env)) return false;
  if (role && !row.grants.some((g) => g.roles.includes(role))) return false;
  return true;
}

function StatusBadge({ status }: { status: string }) {
  const kind = status === 'active' ? 'ok' : status === 'invited' ? 'info' : 'neutral';
  return <Badge kind={kind}>{status.charAt(0).toUpperCase() + status.slice(1)}</Badge>;
}

// What removing takes away, in words, for the confirmation.
export function LossList({ grants, environments }: { grants: Grant[]; environments: Environment[] }) {
  if (!grants.length) return null;
  return (
    <ul class="loss-list">
      {grants.map((g, i) => (
        <li key={i}>
          <strong>{scopeLabel(g, environments)}</strong>: {rolesText(g)}
        </li>
      ))}
    </ul>
  );
}

function Overview({ openUser, openInvitation }: { openUser?: string; openInvitation?: string }) {
  const session = useSession();
  const { agency, environments, roles, access } = useAgency();
  const { query } = useLocation();
  const base = `/agencies/${encodeURIComponent(agency.id)}/users`;
  const q = query.get('q') || '';
  const env = query.get('environment_id') || '';
  const role = query.get('role') || '';
  const sort = SORTS[query.get('sort') || ''] ? query.get('sort')! : 'name';
  const [search, setSearch] = useState(q);
  const [cursor, setCursor] = useState<string | null>(null);
  const [trail, setTrail] = useState<(string | null)[]>([]);
  const [inviting, setInviting] = useState(false);
  const [removing, setRemoving] = useState<Row | null>(null);
  const [copied, setCopied] = useState<string | null>(null);
  const [showLink, setShowLink] = useState<{ email: string; url: string } | null>(null);
  const searchId = useId('search');
  const envId = useId('env');
  const roleId = useId('role');
  const sortId = useId('sort');

  const canInvite = access.canAnywhere('users.invite', agency.id);
  const canManage = access.canAnywhere('users.manage', agency.id);

  const members = useLoad(
    () =>
      get<Page<Member>>(
        withQuery(`/agencies/${encodeURIComponent(agency.id)}/users`, { q, environment_id: env, role, limit: 50, cursor }),
      ),
    [agency.id, q, env, role, cursor],
  );
  const invitations = useLoad(
    () => (canInvite ? getAll<Invitation>(`/agencies/${encodeURIComponent(agency.id)}/invitations?status=pending`) : Promise.resolve([])),
    [agency.id, canInvite],
  );

  // The query lives in the address, so a filtered list can be bookmarked and shared.
  function setQuery(changes: Record<string, string>) {
    const next = new URLSearchParams(location.search);
    for (const [k, v] of Object.entries(changes)) {
      if (v) next.set(k, v);
      else next.delete(k);
    }
    setCursor(null);
    setTrail([]);
    const s = next.toString();
    navigate(`${location.pathname}${s ? `?${s}` : ''}`, { replace: true });
  }
  useEffect(() => {
    if (search === q) return;
    const t = setTimeout(() => setQuery({ q: search.trim() }), 300);
    return () => clearTimeout(t);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [search]);

  const rows = useMemo(() => {
    const out: Row[] = [];
    const invited = new Set<string>();
    if (!cursor) {
      for (const inv of invitations.data || []) {
        const r = invitationRow(inv, environments);
        if (matches(r, q, env, role)) out.push(r);
        invited.add(inv.email.toLowerCase());
      }
    }
    for (const m of members.data?.items || []) {
      // An invited person appears once, with the invitation's actions.
      if (m.status === 'invited' && invited.has(m.email.toLowerCase())) continue;
      out.push(memberRow(m, environments));
    }
    return out.sort(SORTS[sort].cmp);
  }, [members.data, invitations.data, environments, q, env, role, sort, cursor]);

  const listQuery = location.search;
  const panelOpen = !!(openUser || openInvitation);
  const openRow = rows.find((r) => (openUser && r.kind === 'member' && r.id === openUser) || (openInvitation && r.kind === 'invitation' && r.id === openInvitation));

  async function copyLink(row: Row) {
    try {
      const { url } = await get<{ url: string }>(`/invitations/${encodeURIComponent(row.id)}/link`);
      if (await copyText(url)) {
        setCopied(row.id);
        announce(`Invitation link for ${row.email} copied`);
        setTimeout(() => setCopied((c) => (c === row.id ? null : c)), 4000);
      } else {
        setShowLink({ email: row.email, url });
      }
    } catch (e) {
      announce(messageOf(e), 'error');
    }
  }

  async function impersonate(row: Row) {
    try {
      const answer = await post<{ csrf_token?: string }>('/impersonation', { user_id: row.id, agency_id: agency.id });
      if (answer && answer.csrf_token) await session.started(answer);
      else await session.refresh();
      announce(`You are now seeing the studio as ${row.name || row.email}`);
      navigate('/');
    } catch (e) {
      if (e instanceof ApiError && e.isMissingRoute) announce('Impersonation is not available on this usher server yet', 'error');
      else announce(messageOf(e), 'error');
    }
  }

  const membersMissing = members.error?.isMissingRoute;
  const selfId = session.me?.user.id;

  return (
    <section class={`page users${panelOpen ? ' with-panel' : ''}`}>
      <div class="page-head">
        <PageTitle text="Users" />
        {canInvite ? (
          <button type="button" class="button button-primary" onClick={() => setInviting(true)}>
            <IconPlus /> Invite user
          </button>
        ) : null}
      </div>
      <form class="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <div class="field">
          <label for={searchId}>Search</label>
          <input id={searchId} type="search" name="q" value={search} placeholder="Name, email or shortcode" onInput={(e) => setSearch((e.currentTarget as HTMLInputElement).value)} />
        </div>
        <div class="field">
          <label for={envId}>Environment</label>
          <select id={envId} name="environment_id" value={env} onChange={(e) => setQuery({ environment_id: (e.currentTarget as HTMLSelectElement).value })}>
            <option value="">All environments</option>
            {environments.map((e) => (
              <option key={e.id} value={e.id}>
                {e.name}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for={roleId}>Role</label>
          <select id={roleId} name="role" value={role} onChange={(e) => setQuery({ role: (e.currentTarget as HTMLSelectElement).value })}>
            <option value="">All roles</option>
            {roles.map((r) => (
              <option key={r.name} value={r.name}>
                {roleLabel(r.name)}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for={sortId}>Sort by</label>
          <select id={sortId} name="sort" value={sort} onChange={(e) => setQuery({ sort: (e.currentTarget as HTMLSelectElement).value })}>
            {Object.entries(SORTS).map(([k, s]) => (
              <option key={k} value={k}>
                {s.label}
              </option>
            ))}
          </select>
        </div>
      </form>
      {membersMissing ? (
        <NotAvailable what="The list of members who accepted" />
      ) : members.error ? (
        <LoadProblem error={members.error} what="The member list" />
      ) : null}
      {invitations.error ? <LoadProblem error={invitations.error} what="The invitation list" /> : null}
      {(members.loading && !members.data && !members.error) || (invitations.loading && !invitations.data) ? (
        <Loading what="Loading users" />
      ) : rows.length === 0 ? (
        <p class="muted">{q || env || role ? 'Nobody matches these filters.' : 'Nobody here yet.'}</p>
      ) : (
        <div class="table-wrap" tabIndex={0} role="region" aria-label="Users table">
          <table class="table table-cards">
            <caption class="visually-hidden">Users of {agency.name}, sorted by {SORTS[sort].label.toLowerCase()}</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Email</th>
                <th scope="col">Shortcode</th>
                <th scope="col">Roles</th>
                <th scope="col">Environments</th>
                <th scope="col">Status</th>
                <th scope="col">Last active</th>
                <th scope="col">Created</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => {
                const href = r.kind === 'member' ? `${base}/${encodeURIComponent(r.id)}${listQuery}` : `/agencies/${encodeURIComponent(agency.id)}/invitations/${encodeURIComponent(r.id)}${listQuery}`;
                const label = r.name || r.email;
                const canImpersonate = r.kind === 'member' && r.status === 'active' && canManage && r.id !== selfId;
                const canRemove = r.kind === 'member' ? canManage && r.id !== selfId : canInvite;
                return (
                  <tr key={r.key} class={openRow === r ? 'selected' : undefined}>
                    <th scope="row">
                      <Link href={href}>{label}</Link>
                    </th>
                    <td data-label="Email">{r.email}</td>
                    <td data-label="Shortcode">{r.shortcode || <span class="muted">—</span>}</td>
                    <td data-label="Roles">
                      <ul class="cell-list">
                        {r.grants.map((g, i) => (
                          <li key={i}>
                            <span class="muted">{scopeLabel(g, environments)}:</span> {rolesText(g)}
                          </li>
                        ))}
                      </ul>
                    </td>
                    <td data-label="Environments">{r.environmentIds.length ? r.environmentIds.map((id) => environmentName(environments, id)).join(', ') : <span class="muted">none</span>}</td>
                    <td data-label="Status">
                      <StatusBadge status={r.status} />
                    </td>
                    <td data-label="Last active">{r.kind === 'invitation' ? <span class="muted">—</span> : when(r.lastActive)}</td>
                    <td data-label="Created" class="nowrap">
                      {day(r.created)}
                    </td>
                    <td class="row-actions">
                      {r.kind === 'invitation' && canInvite ? (
                        <button type="button" class="icon-button" aria-label={`Copy the invitation link for ${r.email}`} title="Copy invitation link" onClick={() => copyLink(r)}>
                          <IconClipboard />
                        </button>
                      ) : (
                        <span class="icon-space" />
                      )}
                      {canImpersonate ? (
                        <button type="button" class="icon-button" aria-label={`See the studio as ${label}`} title="Impersonate" onClick={() => impersonate(r)}>
                          <IconPersonArrow />
                        </button>
                      ) : (
                        <span class="icon-space" />
                      )}
                      {canRemove ? (
                        <button
                          type="button"
                          class="icon-button icon-danger"
                          aria-label={r.kind === 'member' ? `Remove ${label}` : `Revoke the invitation for ${r.email}`}
                          title={r.kind === 'member' ? 'Remove user' : 'Revoke invitation'}
                          onClick={() => setRemoving(r)}
                        >
                          <IconTrash />
                        </button>
                      ) : (
                        <span class="icon-space" />
                      )}
                      {copied === r.id ? <span class="copied">Link copied</span> : null}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      <nav class="pager" aria-label="Pages">
        {trail.length || members.data?.next_cursor ? (
          <>
            <button
              type="button"
              class="button"
              disabled={!trail.length}
              onClick={() => {
                setCursor(trail[trail.length - 1] ?? null);
                setTrail(trail.slice(0, -1));
              }}
            >
              Previous page
            </button>
            <button
              type="button"
              class="button"
              disabled={!members.data?.next_cursor}
              onClick={() => {
                setTrail([...trail, cursor]);
                setCursor(members.data!.next_cursor);
              }}
            >
              Next page
            </button>
          </>
        ) : null}
      </nav>

      {openUser ? (
        <UserPanel
          userId={openUser}
          row={openRow?.member}
          onClose={() => navigate(`${base}${listQuery}`)}
          onChanged={() => members.reload()}
          onImpersonate={openRow && openRow.status === 'active' && canManage && openRow.id !== selfId ? () => impersonate(openRow) : undefined}
        />
      ) : null}
      {openInvitation ? (
        <InvitationPanel
          invitationId={openInvitation}
          onClose={() => navigate(`${base}${listQuery}`)}
          onChanged={() => invitations.reload()}
          onCopy={(r) => copyLink(invitationRow(r, environments))}
        />
      ) : null}
      {inviting ? <InviteDialog onClose={() => setInviting(false)} onSent={() => invitations.reload()} environmentId={env || undefined} /> : null}
      {removing ? (
        <Confirm
          title={removing.kind === 'member' ? `Remove ${removing.name || removing.email}` : 'Revoke invitation'}
          confirm={removing.kind === 'member' ? 'Remove from agency' : 'Revoke invitation'}
          onClose={() => setRemoving(null)}
          onConfirm={async () => {
            if (removing.kind === 'member') {
              await del(`/agencies/${encodeURIComponent(agency.id)}/users/${encodeURIComponent(removing.id)}`);
              announce(`${removing.name || removing.email} was removed from ${agency.name}`);
              members.reload();
              if (openUser === removing.id) navigate(`${base}${listQuery}`);
            } else {
              await del(`/invitations/${encodeURIComponent(removing.id)}`);
              announce(`The invitation for ${removing.email} was revoked`);
              invitations.reload();
              if (openInvitation === removing.id) navigate(`${base}${listQuery}`);
            }
          }}
        >
          {removing.kind === 'member' ? (
            <>
              <p>
                {removing.name || removing.email} ({removing.email}) loses all access to <strong>{agency.name}</strong> at once,
                in every environment and bot:
              </p>
              <LossList grants={removing.grants} environments={environments} />
              <p>Their sessions in this agency end on their next request. You can invite them again later.</p>
            </>
          ) : (
            <>
              <p>
                The invitation for <strong>{removing.email}</strong> stops working at once: its link, and any link copied or
                emailed before, will show "withdrawn". It would have given:
              </p>
              <LossList grants={removing.grants} environments={environments} />
            </>
          )}
        </Confirm>
      ) : null}
      {showLink ? (
        <Dialog title="Copy the invitation link" onClose={() => setShowLink(null)}>
          <p>The clipboard is not available here. Select the link for {showLink.email} and copy it:</p>
          <input class="link-field" readOnly value={showLink.url} aria-label="Invitation link" onFocus={(e) => (e.currentTarget as HTMLInputElement).select()} />
        </Dialog>
      ) : null}
    </section>
  );
}

export function AgencyUsers({ agencyId, openUser, openInvitation }: { agencyId: string; openUser?: string; openInvitation?: string }) {
  return (
    <AgencyShell agencyId={agencyId} section="users">
      <Overview openUser={openUser} openInvitation={openInvitation} />
    </AgencyShell>
  );
}

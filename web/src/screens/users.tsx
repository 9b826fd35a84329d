// The users overview (seeds 000 and 004, SPEC §6): members and invited people of an agency
// with search, filters, sorting and pages; the three row icons (copy the invitation link,
// impersonate, remove); and the right panel with a person's details, grants per environment
// and audit log.
import { useEffect, useState } from 'preact/hooks';
import { ApiError, del, get, messageOf, post, withQuery } from '../api';
import { AgencyShell, useAgency, useAgencyRoles } from '../agency';
import { day, fullName, roleId, roleLabel, when } from '../format';
import { Link, navigate, useLocation } from '../router';
import { useSession } from '../session';
import type { Environment, Grant, Member, Page } from '../types';
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
  PageTitle,
  announce,
  copyText,
  useId,
  useLoad,
} from '../ui';
import { Pager } from './agencies';
import { rolesText, scopeLabel } from './grants';
import { BulkInviteDialog } from './bulk_invite';
import { InviteDialog } from './invite';
import { InvitationPanel, UserPanel } from './user_panel';

const SORTS: [string, string][] = [
  ['name', 'Name (A to Z)'],
  ['-name', 'Name (Z to A)'],
  ['-last_active', 'Last active (recent first)'],
  ['-created', 'Created (newest first)'],
  ['created', 'Created (oldest first)'],
];

const isInvited = (m: Member) => m.status === 'invited';
const invitationId = (m: Member) => m.invitation_id || m.id;

function StatusBadge({ status }: { status: string }) {
  const kind = status === 'active' ? 'ok' : status === 'invited' ? 'info' : 'neutral';
  return <Badge kind={kind}>{status.charAt(0).toUpperCase() + status.slice(1)}</Badge>;
}

const METHOD_WORDS: Record<string, string> = { password: 'Password', oidc: 'Company login' };

// How a member signs in: a password, a company login, or both (nothing for invitations).
function SignInMethods({ member }: { member: Member }) {
  const methods = member.sign_in_methods || [];
  if (isInvited(member)) return <span class="muted">—</span>;
  if (!methods.length) return <span class="muted">none yet</span>;
  return (
    <ul class="cell-list">
      {methods.map((m) => (
        <li key={m}>{METHOD_WORDS[m] || m}</li>
      ))}
    </ul>
  );
}

// Whether a member signs in with two-step verification (nothing for invitations, or on a server
// without it).
function SecondFactorMark({ member }: { member: Member }) {
  if (isInvited(member) || typeof member.second_factor !== 'boolean') return null;
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

// What removing takes away, in words, for the confirmation.
export function LossList({ grants, environments }: { grants: Grant[]; environments: Environment[] }) {
  const roles = useAgencyRoles();
  if (!grants.length) return null;
  return (
    <ul class="loss-list">
      {grants.map((g, i) => (
        <li key={i}>
          <strong>{scopeLabel(g, environments)}</strong>: {rolesText(g, roles)}
        </li>
      ))}
    </ul>
  );
}

function Overview({ openUser, openInvitation }: { openUser?: string; openInvitation?: string }) {
  const session = useSession();
  const { agency, environments, roles, access } = useAgency();
  const { query } = useLocation();
  const base = `/agencies/${encodeURIComponent(agency.id)}`;
  const q = query.get('q') || '';
  const env = query.get('environment_id') || '';
  const role = query.get('role') || '';
  const sort = SORTS.some(([k]) => k === query.get('sort')) ? query.get('sort')! : 'name';
  const [search, setSearch] = useState(q);
  const [cursor, setCursor] = useState<string | null>(null);
  const [trail, setTrail] = useState<(string | null)[]>([]);
  const [inviting, setInviting] = useState(false);
  const [bulk, setBulk] = useState(false);
  const [removing, setRemoving] = useState<Member | null>(null);
  const [copied, setCopied] = useState<string | null>(null);
  const [showLink, setShowLink] = useState<{ email: string; url: string } | null>(null);
  const searchId = useId('search');
  const envId = useId('env');
  const roleFieldId = useId('role');
  const sortId = useId('sort');

  const canInvite = access.canAnywhere('users.invite', agency.id);
  const canManage = access.canAnywhere('users.manage', agency.id);
  const selfId = session.me?.user.id;

  const list = useLoad(
    () => get<Page<Member>>(withQuery(`${base}/users`, { q, environment_id: env, role, sort, limit: 50, cursor })),
    [base, q, env, role, sort, cursor],
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
    if (search.trim() === q) return;
    const t = setTimeout(() => setQuery({ q: search.trim() }), 300);
    return () => clearTimeout(t);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [search]);

  const listQuery = location.search;
  const rows = list.data?.items || [];
  // A server with company sign-in says how each member signs in.
  const showMethods = rows.some((m) => Array.isArray(m.sign_in_methods));
  const closePanel = () => navigate(`${base}/users${listQuery}`);

  // Copy link (seed 000's clipboard icon): the current link, unchanged, for another channel.
  async function copyLink(id: string, email: string) {
    try {
      const { url } = await get<{ url: string }>(`/invitations/${encodeURIComponent(id)}/link`);
      if (await copyText(url)) {
        setCopied(id);
        announce(`Invitation link for ${email} copied`);
        setTimeout(() => setCopied((c) => (c === id ? null : c)), 4000);
      } else {
        setShowLink({ email, url });
      }
    } catch (e) {
      announce(messageOf(e), 'error');
    }
  }

  async function impersonate(m: Member) {
    try {
      const answer = await post<{ csrf_token?: string }>('/impersonation', { user_id: m.id, agency_id: agency.id });
      await session.started(answer);
      announce(`You are now seeing the studio as ${fullName(m)}`);
      navigate(base);
    } catch (e) {
      if (e instanceof ApiError && e.isMissingRoute) announce('Impersonation is not available on this usher server yet', 'error');
      else announce(messageOf(e), 'error');
    }
  }

  const mayImpersonate = (m: Member) => !isInvited(m) && m.status === 'active' && canManage && m.id !== selfId;
  const mayRemove = (m: Member) => (isInvited(m) ? canInvite : canManage && m.id !== selfId);

  return (
    <section class={`page users${openUser || openInvitation ? ' with-panel' : ''}`}>
      <div class="page-head">
        <PageTitle text="Users" />
        {canInvite ? (
          <div class="page-actions">
            <button type="button" class="button" onClick={() => setBulk(true)}>
              Invite from a file
            </button>
            <button type="button" class="button button-primary" onClick={() => setInviting(true)}>
              <IconPlus /> Invite user
            </button>
          </div>
        ) : null}
      </div>
      <form class="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <div class="field">
          <label for={searchId}>Search</label>
          <input
            id={searchId}
            type="search"
            name="q"
            value={search}
            placeholder="Name or email"
            aria-describedby={list.error?.field === 'q' ? `${searchId}-error` : undefined}
            onInput={(e) => setSearch((e.currentTarget as HTMLInputElement).value)}
          />
          {list.error?.field === 'q' ? (
            <p class="field-error" id={`${searchId}-error`}>
              {list.error.message}
            </p>
          ) : null}
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
          <label for={roleFieldId}>Role</label>
          <select id={roleFieldId} name="role" value={role} onChange={(e) => setQuery({ role: (e.currentTarget as HTMLSelectElement).value })}>
            <option value="">All roles</option>
            {roles.map((r) => (
              <option key={roleId(r)} value={roleId(r)}>
                {roleLabel(r.name)}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for={sortId}>Sort by</label>
          <select id={sortId} name="sort" value={sort} onChange={(e) => setQuery({ sort: (e.currentTarget as HTMLSelectElement).value })}>
            {SORTS.map(([k, label]) => (
              <option key={k} value={k}>
                {label}
              </option>
            ))}
          </select>
        </div>
      </form>
      {list.error && list.error.field !== 'q' ? <LoadProblem error={list.error} what="The user list" /> : null}
      {!list.data ? (
        list.error ? null : <Loading what="Loading users" />
      ) : rows.length === 0 ? (
        <p class="muted">{q || env || role ? 'Nobody matches these filters.' : 'Nobody here yet.'}</p>
      ) : (
        <div class="table-wrap" tabIndex={0} role="region" aria-label="Users table">
          <table class="table table-cards">
            <caption class="visually-hidden">
              Users of {agency.name}, sorted by {SORTS.find(([k]) => k === sort)![1].toLowerCase()}
            </caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Email</th>
                <th scope="col">Shortcode</th>
                <th scope="col">Roles</th>
                <th scope="col">Environments</th>
                <th scope="col">Status</th>
                {showMethods ? <th scope="col">Sign-in</th> : null}
                <th scope="col">Last active</th>
                <th scope="col">Created</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((m) => {
                const invited = isInvited(m);
                const href = invited
                  ? `${base}/invitations/${encodeURIComponent(invitationId(m))}${listQuery}`
                  : `${base}/users/${encodeURIComponent(m.id)}${listQuery}`;
                const label = fullName(m);
                const open = invited ? openInvitation === invitationId(m) : openUser === m.id;
                return (
                  <tr key={m.id} class={open ? 'selected' : undefined}>
                    <th scope="row">
                      <Link href={href}>{label}</Link>
                    </th>
                    <td data-label="Email">{m.email}</td>
                    <td data-label="Shortcode">{m.shortcode || <span class="muted">—</span>}</td>
                    <td data-label="Roles">
                      <ul class="cell-list">
                        {m.grants.map((g, i) => (
                          <li key={i}>
                            <span class="muted">{scopeLabel(g, environments)}:</span> {rolesText(g, roles)}
                          </li>
                        ))}
                      </ul>
                    </td>
                    <td data-label="Environments">
                      {m.environments.length ? m.environments.map((e) => e.name).join(', ') : <span class="muted">none</span>}
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
                    <td data-label="Last active">{invited ? <span class="muted">—</span> : when(m.last_active_at)}</td>
                    <td data-label="Created" class="nowrap">
                      {day(m.created_at)}
                    </td>
                    <td class="row-actions">
                      {invited && canInvite ? (
                        <button type="button" class="icon-button" aria-label={`Copy the invitation link for ${m.email}`} title="Copy invitation link" onClick={() => copyLink(invitationId(m), m.email)}>
                          <IconClipboard />
                        </button>
                      ) : (
                        <span class="icon-space" />
                      )}
                      {mayImpersonate(m) ? (
                        <button type="button" class="icon-button" aria-label={`See the studio as ${label}`} title="Impersonate" onClick={() => impersonate(m)}>
                          <IconPersonArrow />
                        </button>
                      ) : (
                        <span class="icon-space" />
                      )}
                      {mayRemove(m) ? (
                        <button
                          type="button"
                          class="icon-button icon-danger"
                          aria-label={invited ? `Revoke the invitation for ${m.email}` : `Remove ${label}`}
                          title={invited ? 'Revoke invitation' : 'Remove user'}
                          onClick={() => setRemoving(m)}
                        >
                          <IconTrash />
                        </button>
                      ) : (
                        <span class="icon-space" />
                      )}
                      {invited && copied === invitationId(m) ? <span class="copied">Link copied</span> : null}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      <Pager
        hasPrevious={trail.length > 0}
        next={list.data?.next_cursor || null}
        onPrevious={() => {
          setCursor(trail[trail.length - 1] ?? null);
          setTrail(trail.slice(0, -1));
        }}
        onNext={(c) => {
          setTrail([...trail, cursor]);
          setCursor(c);
        }}
      />

      {openUser ? (
        <UserPanel
          userId={openUser}
          onClose={closePanel}
          onChanged={list.reload}
          onImpersonate={(m) => (mayImpersonate(m) ? () => impersonate(m) : undefined)}
        />
      ) : null}
      {openInvitation ? (
        <InvitationPanel invitationId={openInvitation} onClose={closePanel} onChanged={list.reload} onCopy={(inv) => copyLink(inv.id, inv.email)} />
      ) : null}
      {bulk ? <BulkInviteDialog onClose={() => setBulk(false)} onSent={list.reload} /> : null}
      {inviting ? <InviteDialog onClose={() => setInviting(false)} onSent={list.reload} environmentId={env || undefined} /> : null}
      {removing ? (
        <Confirm
          title={isInvited(removing) ? 'Revoke invitation' : `Remove ${fullName(removing)}`}
          confirm={isInvited(removing) ? 'Revoke invitation' : 'Remove from agency'}
          onClose={() => setRemoving(null)}
          onConfirm={async () => {
            if (isInvited(removing)) {
              await del(`/invitations/${encodeURIComponent(invitationId(removing))}`);
              announce(`The invitation for ${removing.email} was revoked`);
              if (openInvitation === invitationId(removing)) closePanel();
            } else {
              await del(`${base}/users/${encodeURIComponent(removing.id)}`);
              announce(`${fullName(removing)} was removed from ${agency.name}`);
              if (openUser === removing.id) closePanel();
            }
            list.reload();
          }}
        >
          {isInvited(removing) ? (
            <>
              <p>
                The invitation for <strong>{removing.email}</strong> stops working at once: its link, and any link copied or
                emailed before, will say it was withdrawn. It would have given:
              </p>
              <LossList grants={removing.grants} environments={environments} />
            </>
          ) : (
            <>
              <p>
                {fullName(removing)} ({removing.email}) loses all access to <strong>{agency.name}</strong> at once, in every
                environment and bot:
              </p>
              <LossList grants={removing.grants} environments={environments} />
              <p>Their next request in this agency is refused. You can invite them again later.</p>
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

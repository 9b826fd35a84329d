// The users overview: members and invited people of an agency with search, filters (expired
// and revoked invitations too), sorting and pages; each row's actions (copy the invitation
// link, resend, impersonate, remove or revoke) in one menu beside the name; and the right panel
// with a person's details, grants per environment and audit log.
import { get, messageOf, post, withQuery, ApiError, del } from '../api';
import { AgencyShell, useAgency, useAgencyRoles } from '../agency';
import { day, fullName } from '../format';
import { navigate, useLocation } from '../router';
import { useSession } from '../session';
import type { Environment, Grant, Member, Page } from '../types';
import {
  Confirm,
  Dialog,
  IconPlus,
  LoadProblem,
  Loading,
  PageTitle,
  announce,
  copyText,
  useLoad,
} from '../ui';
import { useState } from 'preact/hooks';
import { Pager } from './agencies';
import { BulkInviteDialog } from './bulk_invite';
import { rolesText, scopeLabel } from './grants';
import { InviteDialog } from './invite';
import { usePermissionWords } from './permission_words';
import { usePlaceNames } from './place_names';
import type { RowAction } from './row_actions';
import { usePager } from './use_pager';
import { InvitationPanel, UserPanel } from './user_panel';
import { SORTS, STATUSES, UserFilters, UsersFilters, readFilters } from './users_filters';
import { UsersTable, invitationId, isInvitation } from './users_table';
import './users.css';

// What removing takes away, in words, for the confirmation.
export function LossList({
  grants,
  environments,
}: {
  grants: Grant[];
  environments: Environment[];
}) {
  const roles = useAgencyRoles();
  const names = usePlaceNames(grants, environments);
  const words = usePermissionWords();
  if (!grants.length) return null;
  return (
    <ul class="loss-list">
      {grants.map((g, i) => (
        <li key={i}>
          <strong>{scopeLabel(g, environments, names)}</strong>: {rolesText(g, roles, words)}
        </li>
      ))}
    </ul>
  );
}

// One page of rows for the filters, all applied by the server (status too), so a page is full
// whenever more matches follow.
async function loadRows(
  base: string,
  f: UserFilters,
  cursor: string | null,
): Promise<Page<Member>> {
  const query = {
    q: f.q,
    environment_id: f.env,
    role: f.role,
    status: f.status,
    sort: f.sort,
    limit: 50,
    cursor,
  };
  return get<Page<Member>>(withQuery(`${base}/users`, query));
}

function Overview({ openUser, openInvitation }: { openUser?: string; openInvitation?: string }) {
  const session = useSession();
  const { agency, access } = useAgency();
  const { query } = useLocation();
  const base = `/agencies/${encodeURIComponent(agency.id)}`;
  const filters = readFilters(query);
  const pager = usePager();
  const [inviting, setInviting] = useState(false);
  const [bulk, setBulk] = useState(false);
  const [removing, setRemoving] = useState<Member | null>(null);
  const [copied, setCopied] = useState<string | null>(null);
  const [showLink, setShowLink] = useState<{ email: string; url: string } | null>(null);

  // While viewing as someone, their controls show, disabled (access.readOnly).
  const readOnly = access.readOnly;
  const lock = access.lock();
  const showsInvite = access.showsAnywhere('users.invite', agency.id);
  const showsManage = access.showsAnywhere('users.manage', agency.id);
  const selfId = session.me?.user.id;

  const list = useLoad(
    () => loadRows(base, filters, pager.cursor),
    [base, filters.q, filters.env, filters.role, filters.sort, filters.status, pager.cursor],
  );

  function setQuery(changes: Record<string, string>) {
    const next = new URLSearchParams(location.search);
    for (const [k, v] of Object.entries(changes)) {
      if (v) next.set(k, v);
      else next.delete(k);
    }
    pager.reset();
    const s = next.toString();
    navigate(`${location.pathname}${s ? `?${s}` : ''}`, { replace: true });
  }

  const listQuery = location.search;
  const rows = list.data?.items || [];
  const closePanel = () => navigate(`${base}/users${listQuery}`);

  // Copy link: the current link, unchanged, for another channel.
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

  async function resend(m: Member) {
    try {
      const id = encodeURIComponent(invitationId(m));
      const r = await post<{ expires_at: string }>(`/invitations/${id}/resend`);
      announce(
        `Invitation for ${m.email} sent again; the new link is valid until ${day(r.expires_at)}`,
      );
      list.reload();
    } catch (e) {
      announce(messageOf(e), 'error');
    }
  }

  async function impersonate(m: Member) {
    try {
      const answer = await post<{ csrf_token?: string }>('/impersonation', {
        user_id: m.id,
        agency_id: agency.id,
      });
      await session.started(answer);
      announce(`You are now seeing the studio as ${fullName(m)}`);
      navigate(base);
    } catch (e) {
      if (e instanceof ApiError && e.isMissingRoute)
        announce('Impersonation is not available on this usher server yet', 'error');
      else announce(messageOf(e), 'error');
    }
  }

  const mayImpersonate = (m: Member) => m.status === 'active' && showsManage && m.id !== selfId;

  function actionsOf(m: Member): RowAction[] {
    const name = fullName(m);
    const out: RowAction[] = [];
    const add = (label: string, onSelect: () => void, danger = false) =>
      out.push({ label, onSelect, danger, disabled: readOnly, reason: lock.title });
    if (m.status === 'invited' && showsInvite) {
      add('Copy invitation link', () => copyLink(invitationId(m), m.email));
    }
    // The server sends a pending or an expired invitation again, with a new link.
    if ((m.status === 'invited' || m.status === 'expired') && showsInvite) {
      add('Resend invitation', () => resend(m));
    }
    if (mayImpersonate(m)) add(`See the studio as ${name}`, () => impersonate(m));
    if (m.status === 'invited' && showsInvite) {
      add('Revoke invitation', () => setRemoving(m), true);
    } else if (!isInvitation(m) && showsManage && m.id !== selfId) {
      add('Remove from agency', () => setRemoving(m), true);
    }
    return out;
  }

  const filtered = filters.q || filters.env || filters.role || filters.status;
  const statusWords = STATUSES.find(([k]) => k === filters.status)![1].toLowerCase();
  const sortWords = SORTS.find(([k]) => k === filters.sort)![1].toLowerCase();
  return (
    <section class={`page users${openUser || openInvitation ? ' with-panel' : ''}`}>
      <div class="page-head">
        <PageTitle text="Users" />
        {showsInvite ? (
          <div class="page-actions">
            <button type="button" class="button" {...lock} onClick={() => setBulk(true)}>
              Invite from a file
            </button>
            <button
              type="button"
              class="button button-primary"
              {...lock}
              onClick={() => setInviting(true)}
            >
              <IconPlus /> Invite user
            </button>
          </div>
        ) : null}
      </div>
      <UsersFilters filters={filters} error={list.error} onChange={setQuery} />
      {list.error && list.error.field !== 'q' ? (
        <LoadProblem error={list.error} what="The user list" />
      ) : null}
      {!list.data ? (
        list.error ? null : (
          <Loading what="Loading users" />
        )
      ) : rows.length === 0 ? (
        <p class="muted">{filtered ? 'Nobody matches these filters.' : 'Nobody here yet.'}</p>
      ) : (
        <UsersTable
          rows={rows}
          caption={`Users of ${agency.name} (${statusWords}), sorted by ${sortWords}`}
          hrefOf={(m) =>
            isInvitation(m)
              ? `${base}/invitations/${encodeURIComponent(invitationId(m))}${listQuery}`
              : `${base}/users/${encodeURIComponent(m.id)}${listQuery}`
          }
          isOpen={(m) => (isInvitation(m) ? openInvitation === invitationId(m) : openUser === m.id)}
          actionsOf={actionsOf}
          copied={copied}
        />
      )}
      <Pager {...pager.props(list.data?.next_cursor)} />

      {openUser ? (
        <UserPanel
          userId={openUser}
          onClose={closePanel}
          onChanged={list.reload}
          onImpersonate={(m) => (mayImpersonate(m) ? () => impersonate(m) : undefined)}
        />
      ) : null}
      {openInvitation ? (
        <InvitationPanel
          invitationId={openInvitation}
          onClose={closePanel}
          onChanged={list.reload}
          onCopy={(inv) => copyLink(inv.id, inv.email)}
        />
      ) : null}
      {bulk ? <BulkInviteDialog onClose={() => setBulk(false)} onSent={list.reload} /> : null}
      {inviting ? (
        <InviteDialog
          onClose={() => setInviting(false)}
          onSent={list.reload}
          environmentId={filters.env || undefined}
        />
      ) : null}
      {removing ? (
        <RemoveConfirm
          member={removing}
          onClose={() => setRemoving(null)}
          onDone={(wasOpen) => {
            if (wasOpen) closePanel();
            list.reload();
          }}
          isOpen={
            isInvitation(removing)
              ? openInvitation === invitationId(removing)
              : openUser === removing.id
          }
        />
      ) : null}
      {showLink ? (
        <Dialog title="Copy the invitation link" onClose={() => setShowLink(null)}>
          <p>
            The clipboard is not available here. Select the link for {showLink.email} and copy it:
          </p>
          <input
            class="link-field"
            readOnly
            value={showLink.url}
            aria-label="Invitation link"
            onFocus={(e) => (e.currentTarget as HTMLInputElement).select()}
          />
        </Dialog>
      ) : null}
    </section>
  );
}

interface RemoveProps {
  member: Member;
  isOpen: boolean;
  onClose: () => void;
  onDone: (wasOpen: boolean) => void;
}

// Revoking an invitation or removing a member, with what it takes away.
function RemoveConfirm({ member, isOpen, onClose, onDone }: RemoveProps) {
  const { agency, environments } = useAgency();
  const invited = isInvitation(member);
  const base = `/agencies/${encodeURIComponent(agency.id)}`;
  return (
    <Confirm
      title={invited ? 'Revoke invitation' : `Remove ${fullName(member)}`}
      confirm={invited ? 'Revoke invitation' : 'Remove from agency'}
      onClose={onClose}
      onConfirm={async () => {
        if (invited) {
          await del(`/invitations/${encodeURIComponent(invitationId(member))}`);
          announce(`The invitation for ${member.email} was revoked`);
        } else {
          await del(`${base}/users/${encodeURIComponent(member.id)}`);
          announce(`${fullName(member)} was removed from ${agency.name}`);
        }
        onDone(isOpen);
      }}
    >
      {invited ? (
        <>
          <p>
            The invitation for <strong>{member.email}</strong> stops working at once: its link, and
            any link copied or emailed before, will say it was withdrawn. It would have given:
          </p>
          <LossList grants={member.grants} environments={environments} />
        </>
      ) : (
        <>
          <p>
            {fullName(member)} ({member.email}) loses all access to <strong>{agency.name}</strong>{' '}
            at once, in every environment and bot:
          </p>
          <LossList grants={member.grants} environments={environments} />
          <p>Their next request in this agency is refused. You can invite them again later.</p>
        </>
      )}
    </Confirm>
  );
}

export function AgencyUsers({
  agencyId,
  openUser,
  openInvitation,
}: {
  agencyId: string;
  openUser?: string;
  openInvitation?: string;
}) {
  return (
    <AgencyShell agencyId={agencyId} section="users">
      <Overview openUser={openUser} openInvitation={openInvitation} />
    </AgencyShell>
  );
}

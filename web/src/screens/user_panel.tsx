// The right panel of the users overview (seed 004): a member's details, how they stand in each
// environment ("inherited from agency" or "overridden here", with the permissions that gives),
// edits, removal from one environment, and their audit trail; or a pending invitation with its
// link, resend and revoke.
import { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { del, get, post, withQuery } from '../api';
import { useAgency } from '../agency';
import { day, fullName, when } from '../format';
import type { AuditEntry, Invitation, Member, MemberAccess, Page } from '../types';
import { useSession } from '../session';
import {
  Confirm,
  FormError,
  IconClipboard,
  IconClose,
  IconPersonArrow,
  LoadProblem,
  Loading,
  announce,
  useId,
  useLoad,
} from '../ui';
import { AuditTable } from './audit';
import { GrantList } from './grants';
import { AccessForm, ProfileForm, useNamesEditable } from './member_edit';
import { AccessList, RemoveFromEnvironment } from './user_access';

function Panel({
  title,
  onClose,
  children,
}: {
  title: string;
  onClose: () => void;
  children: ComponentChildren;
}) {
  const id = useId('panel');
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    ref.current?.focus();
  }, [title]);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape' && !document.querySelector('dialog[open]')) onClose();
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [onClose]);
  return (
    <aside class="panel" aria-labelledby={id}>
      <div class="panel-head">
        <h2 id={id} ref={ref} tabIndex={-1}>
          {title}
        </h2>
        <button
          type="button"
          class="icon-button"
          aria-label="Close the panel"
          title="Close"
          onClick={onClose}
        >
          <IconClose />
        </button>
      </div>
      <div class="panel-body">{children}</div>
    </aside>
  );
}

function MemberFacts({ member }: { member: Member }) {
  return (
    <dl class="facts">
      <dt>Email</dt>
      <dd>{member.email}</dd>
      <dt>Shortcode</dt>
      <dd>{member.shortcode || '—'}</dd>
      <dt>Status</dt>
      <dd>{member.status}</dd>
      <dt>Last active</dt>
      <dd>{when(member.last_active_at)}</dd>
      <dt>Created</dt>
      <dd>{day(member.created_at)}</dd>
    </dl>
  );
}

function Details({ member, onChanged }: { member: Member; onChanged: (m?: Member) => void }) {
  const { agency, environments, roles, access } = useAgency();
  const { me } = useSession();
  // Viewing as someone: the controls they would have, disabled.
  const canManage = access.showsAnywhere('users.manage', agency.id);
  const lock = access.lock();
  const managesIn = (environmentId: string) =>
    access.shows('users.manage', agency.id, { environmentId });
  const namesEditable = useNamesEditable(member);
  const self = me?.user.id === member.id;
  const [editing, setEditing] = useState<'profile' | 'grants' | null>(null);
  const [removing, setRemoving] = useState<MemberAccess | null>(null);
  const [showPerms, setShowPerms] = useState<string | null>(null);

  return (
    <div>
      <MemberFacts member={member} />
      {canManage && editing !== 'profile' ? (
        <button
          type="button"
          class="button button-small"
          {...lock}
          onClick={() => setEditing('profile')}
        >
          {namesEditable ? 'Edit names and shortcode' : 'Edit shortcode'}
        </button>
      ) : null}
      {editing === 'profile' ? (
        <ProfileForm
          member={member}
          onCancel={() => setEditing(null)}
          onSaved={(m) => {
            setEditing(null);
            onChanged(m);
          }}
        />
      ) : null}

      <h3>Access per environment</h3>
      {editing === 'grants' ? (
        <AccessForm
          member={member}
          onCancel={() => setEditing(null)}
          onSaved={() => {
            setEditing(null);
            onChanged();
          }}
        />
      ) : (
        <>
          <AccessList
            member={member}
            roles={roles}
            environments={environments}
            removable={(a) => !self && a.access !== 'none' && managesIn(a.environment_id)}
            lock={lock}
            showPerms={showPerms}
            onShowPerms={setShowPerms}
            onRemove={setRemoving}
          />
          {canManage && self ? (
            <p class="hint">
              Nobody changes their own access: ask another manager to change yours.
            </p>
          ) : canManage ? (
            <button
              type="button"
              class="button button-small"
              {...lock}
              onClick={() => setEditing('grants')}
            >
              Edit access
            </button>
          ) : null}
        </>
      )}
      {removing ? (
        <RemoveFromEnvironment
          member={member}
          removing={removing}
          roles={roles}
          onClose={() => setRemoving(null)}
          onRemoved={() => onChanged()}
        />
      ) : null}
    </div>
  );
}

export function UserAudit({ userId }: { userId: string }) {
  const { agency } = useAgency();
  const audit = useLoad(
    () =>
      get<Page<AuditEntry>>(
        withQuery(`/agencies/${encodeURIComponent(agency.id)}/audit`, {
          user_id: userId,
          limit: 50,
        }),
      ),
    [agency.id, userId],
  );
  if (audit.error) return <LoadProblem error={audit.error} what="The audit log" />;
  if (!audit.data) return <Loading />;
  if (!audit.data.items.length) return <p class="muted">Nothing recorded yet.</p>;
  return <AuditTable entries={audit.data.items} compact />;
}

interface UserPanelProps {
  userId: string;
  onClose: () => void;
  onChanged: () => void;
  onImpersonate: (m: Member) => (() => void) | undefined;
}

export function UserPanel({ userId, onClose, onChanged, onImpersonate }: UserPanelProps) {
  const { agency, access } = useAgency();
  const member = useLoad(
    () =>
      get<Member>(`/agencies/${encodeURIComponent(agency.id)}/users/${encodeURIComponent(userId)}`),
    [agency.id, userId],
  );
  const [tab, setTab] = useState<'details' | 'audit'>('details');
  const m = member.data;
  const tabsId = useId('tabs');
  const canAudit = access.canAnywhere('audit.read', agency.id);
  const viewAs = m ? onImpersonate(m) : undefined;
  return (
    <Panel title={m ? fullName(m) : 'User'} onClose={onClose}>
      {member.error ? <LoadProblem error={member.error} what="User details" /> : null}
      {!m ? (
        member.error ? null : (
          <Loading />
        )
      ) : (
        <>
          {viewAs ? (
            <button type="button" class="button button-small" {...access.lock()} onClick={viewAs}>
              <IconPersonArrow /> See the studio as {fullName(m)}
            </button>
          ) : null}
          <div class="tabs" role="tablist" aria-label="User">
            <button
              type="button"
              role="tab"
              id={`${tabsId}-d`}
              aria-controls={`${tabsId}-dp`}
              aria-selected={tab === 'details'}
              tabIndex={tab === 'details' ? 0 : -1}
              onClick={() => setTab('details')}
              onKeyDown={(e) => e.key === 'ArrowRight' && canAudit && setTab('audit')}
            >
              Details
            </button>
            {canAudit ? (
              <button
                type="button"
                role="tab"
                id={`${tabsId}-a`}
                aria-controls={`${tabsId}-ap`}
                aria-selected={tab === 'audit'}
                tabIndex={tab === 'audit' ? 0 : -1}
                onClick={() => setTab('audit')}
                onKeyDown={(e) => e.key === 'ArrowLeft' && setTab('details')}
              >
                Audit log
              </button>
            ) : null}
          </div>
          {tab === 'details' ? (
            <div role="tabpanel" id={`${tabsId}-dp`} aria-labelledby={`${tabsId}-d`}>
              <Details
                key={m.id}
                member={m}
                onChanged={(fresh) => {
                  if (fresh) member.set(fresh);
                  else member.reload();
                  onChanged();
                }}
              />
            </div>
          ) : (
            <div role="tabpanel" id={`${tabsId}-ap`} aria-labelledby={`${tabsId}-a`}>
              <UserAudit userId={m.id} />
            </div>
          )}
        </>
      )}
    </Panel>
  );
}

interface InvitationPanelProps {
  invitationId: string;
  onClose: () => void;
  onChanged: () => void;
  onCopy: (inv: Invitation) => void;
}

export function InvitationPanel({
  invitationId,
  onClose,
  onChanged,
  onCopy,
}: InvitationPanelProps) {
  const { environments, agency, access } = useAgency();
  const inv = useLoad(
    () => get<Invitation>(`/invitations/${encodeURIComponent(invitationId)}`),
    [invitationId],
  );
  const [revoking, setRevoking] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const canInvite = access.showsAnywhere('users.invite', agency.id);
  const lock = access.lock();
  async function resend() {
    setError(null);
    try {
      const r = await post<{ expires_at: string }>(
        `/invitations/${encodeURIComponent(invitationId)}/resend`,
      );
      announce(`Invitation sent again; the new link is valid until ${day(r.expires_at)}`);
      inv.reload();
      onChanged();
    } catch (e) {
      setError(e);
    }
  }
  const i = inv.data;
  return (
    <Panel title={i ? i.email : 'Invitation'} onClose={onClose}>
      {inv.error ? <LoadProblem error={inv.error} what="This invitation" /> : null}
      {!i ? (
        inv.error ? null : (
          <Loading />
        )
      ) : (
        <>
          <dl class="facts">
            <dt>Status</dt>
            <dd>{i.status}</dd>
            <dt>Name</dt>
            <dd>{fullName({ first_name: i.first_name, last_name: i.last_name }) || '—'}</dd>
            <dt>Shortcode</dt>
            <dd>{i.shortcode || '—'}</dd>
            <dt>Invited by</dt>
            <dd>{i.invited_by?.name || '—'}</dd>
            <dt>Sent</dt>
            <dd>
              {i.send_count} time{i.send_count === 1 ? '' : 's'}, last {when(i.last_sent_at)}
            </dd>
            <dt>Valid until</dt>
            <dd>{when(i.expires_at)}</dd>
          </dl>
          <h3>Access it gives</h3>
          <GrantList grants={i.grants} environments={environments} places={i.places} />
          <FormError error={error} fields={[]} />
          {(i.status === 'pending' || i.status === 'expired') && canInvite ? (
            <div class="actions actions-start">
              {i.status === 'pending' ? (
                <button
                  type="button"
                  class="button button-small"
                  {...lock}
                  onClick={() => onCopy(i)}
                >
                  <IconClipboard /> Copy link
                </button>
              ) : null}
              <button type="button" class="button button-small" {...lock} onClick={resend}>
                Resend
              </button>
              {i.status === 'pending' ? (
                <button
                  type="button"
                  class="button button-small button-danger"
                  {...lock}
                  onClick={() => setRevoking(true)}
                >
                  Revoke
                </button>
              ) : null}
            </div>
          ) : null}
          {revoking ? (
            <Confirm
              title="Revoke invitation"
              confirm="Revoke invitation"
              onClose={() => setRevoking(false)}
              onConfirm={async () => {
                await del(`/invitations/${encodeURIComponent(i.id)}`);
                announce(`The invitation for ${i.email} was revoked`);
                onChanged();
                onClose();
              }}
            >
              <p>
                The link for <strong>{i.email}</strong> stops working at once. It would have given:
              </p>
              <GrantList grants={i.grants} environments={environments} places={i.places} />
            </Confirm>
          ) : null}
        </>
      )}
    </Panel>
  );
}

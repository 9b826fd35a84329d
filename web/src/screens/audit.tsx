// The agency's audit log (SPEC §7): who did what, when, to whom, where; filtered by action and
// user, a page at a time, and exported as CSV or NDJSON by the server.
import { useMemo, useState } from 'preact/hooks';
import { get, withQuery } from '../api';
import { AgencyShell, environmentName, getAll, useAgency } from '../agency';
import { fullName, when } from '../format';
import { useSession } from '../session';
import type { AuditEntry, Member, Page } from '../types';
import { LoadProblem, Loading, PageTitle, TextField, useLoad } from '../ui';
import { Pager } from './agencies';

function scopeText(e: AuditEntry, envName: (id: string) => string): string {
  if (!e.scope || !e.scope.id) return '—';
  if (e.scope.type === 'environment') return envName(e.scope.id);
  return e.scope.type;
}

function detailsText(d: Record<string, unknown>): string {
  const parts = Object.entries(d || {}).map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);
  return parts.join('; ');
}

// Names of the agency's people by id, for reading who did what; empty without users.read.
function usePeopleNames(): Map<string, string> {
  const { agency, access } = useAgency();
  const { me } = useSession();
  const may = access.canAnywhere('users.read', agency.id);
  const people = useLoad(
    () => (may ? getAll<Member>(`/agencies/${encodeURIComponent(agency.id)}/users`, 5) : Promise.resolve([])),
    [agency.id, may],
  );
  return useMemo(() => {
    const names = new Map((people.data || []).map((p) => [p.id, fullName(p)]));
    if (me) names.set(me.user.id, `${fullName(me.user)} (you)`);
    return names;
  }, [people.data, me]);
}

export function AuditTable({ entries, compact = false }: { entries: AuditEntry[]; compact?: boolean }) {
  const { environments } = useAgency();
  const names = usePeopleNames();
  const envName = (id: string) => environmentName(environments, id);
  const who = (id: string | null) => (id ? names.get(id) || id : '—');
  return (
    <div class="table-wrap" tabIndex={0} role="region" aria-label="Audit entries">
      <table class="table">
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Action</th>
            {compact ? null : <th scope="col">Actor</th>}
            {compact ? null : <th scope="col">Subject</th>}
            <th scope="col">Scope</th>
            {compact ? null : <th scope="col">Source</th>}
            <th scope="col">Details</th>
          </tr>
        </thead>
        <tbody>
          {entries.map((e) => (
            <tr key={e.id}>
              <td class="nowrap">{when(e.at)}</td>
              <td>
                <code>{e.action}</code>
              </td>
              {compact ? null : (
                <td>
                  {who(e.actor_id)}
                  {e.impersonator_id ? <span class="muted small"> (viewed by {who(e.impersonator_id)})</span> : null}
                </td>
              )}
              {compact ? null : <td>{who(e.subject_user_id)}</td>}
              <td>{scopeText(e, envName)}</td>
              {compact ? null : <td>{e.source_ip || '—'}</td>}
              <td class="small details">{detailsText(e.details)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function AuditLog() {
  const { agency } = useAgency();
  const [action, setAction] = useState('');
  const [userId, setUserId] = useState('');
  const [filter, setFilter] = useState({ action: '', user_id: '' });
  const [cursor, setCursor] = useState<string | null>(null);
  const [trail, setTrail] = useState<(string | null)[]>([]);
  const path = `/agencies/${encodeURIComponent(agency.id)}/audit`;
  const log = useLoad(() => get<Page<AuditEntry>>(withQuery(path, { ...filter, limit: 50, cursor })), [path, filter.action, filter.user_id, cursor]);
  // The export streams every matching entry; the browser downloads it with the session cookie.
  const exportHref = (format: string) => `/api/v1${withQuery(`${path}/export`, { ...filter, format })}`;

  return (
    <section class="page">
      <div class="page-head">
        <PageTitle text="Audit log" />
        {log.error ? null : (
          <div class="page-actions">
            <a class="button" href={exportHref('csv')} download>
              Export CSV
            </a>
            <a class="button" href={exportHref('ndjson')} download>
              Export NDJSON
            </a>
          </div>
        )}
      </div>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          setCursor(null);
          setTrail([]);
          setFilter({ action: action.trim(), user_id: userId.trim() });
        }}
      >
        <TextField label="Action" name="action" value={action} onValue={setAction} hint="For example invitation.created" error={log.error} />
        <TextField label="User id" name="user_id" value={userId} onValue={setUserId} hint="Who acted or was acted on" error={log.error} />
        <div class="field field-button">
          <button type="submit" class="button">
            Filter
          </button>
        </div>
      </form>
      {log.error && !['action', 'user_id'].includes(log.error.field || '') ? <LoadProblem error={log.error} what="The audit log" /> : null}
      {!log.data ? (
        log.error ? null : <Loading />
      ) : log.data.items.length === 0 ? (
        <p class="muted">Nothing recorded{filter.action || filter.user_id ? ' for this filter' : ''}.</p>
      ) : (
        <AuditTable entries={log.data.items} />
      )}
      <Pager
        hasPrevious={trail.length > 0}
        next={log.data?.next_cursor || null}
        onPrevious={() => {
          setCursor(trail[trail.length - 1] ?? null);
          setTrail(trail.slice(0, -1));
        }}
        onNext={(c) => {
          setTrail([...trail, cursor]);
          setCursor(c);
        }}
      />
    </section>
  );
}

export function AgencyAudit({ agencyId }: { agencyId: string }) {
  return (
    <AgencyShell agencyId={agencyId} section="audit">
      <AuditLog />
    </AgencyShell>
  );
}

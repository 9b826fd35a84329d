// The agency's audit log (SPEC §7): who did what, when, to whom, where; filtered by action and
// user, a page at a time, and exported as JSON Lines for the records.
import { useState } from 'preact/hooks';
import { get, withQuery } from '../api';
import { AgencyShell, environmentName, useAgency } from '../agency';
import { when } from '../format';
import type { AuditEntry, Page } from '../types';
import { FormError, LoadProblem, Loading, PageTitle, TextField, announce, useLoad } from '../ui';
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

export function AuditTable({ entries, compact = false }: { entries: AuditEntry[]; compact?: boolean }) {
  const { environments } = useAgency();
  const envName = (id: string) => environmentName(environments, id);
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
                  {e.actor_id || '—'}
                  {e.impersonator_id ? <span class="muted small"> (by {e.impersonator_id}, impersonating)</span> : null}
                </td>
              )}
              {compact ? null : <td>{e.subject_user_id || '—'}</td>}
              <td>{scopeText(e, envName)}</td>
              {compact ? null : <td>{e.source_ip || '—'}</td>}
              <td class="small">{detailsText(e.details)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

// Saves text as a file through a link to a blob: no server round trip, nothing inline.
function download(name: string, text: string, type: string) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function AuditLog() {
  const { agency } = useAgency();
  const [action, setAction] = useState('');
  const [userId, setUserId] = useState('');
  const [filter, setFilter] = useState({ action: '', user_id: '' });
  const [cursor, setCursor] = useState<string | null>(null);
  const [trail, setTrail] = useState<(string | null)[]>([]);
  const [exportError, setExportError] = useState<unknown>(null);
  const [exporting, setExporting] = useState(false);
  const path = `/agencies/${encodeURIComponent(agency.id)}/audit`;
  const log = useLoad(() => get<Page<AuditEntry>>(withQuery(path, { ...filter, limit: 50, cursor })), [path, filter.action, filter.user_id, cursor]);

  async function exportAll() {
    setExporting(true);
    setExportError(null);
    try {
      const lines: string[] = [];
      let c: string | null = null;
      for (let i = 0; i < 200; i++) {
        const page: Page<AuditEntry> = await get<Page<AuditEntry>>(withQuery(path, { ...filter, limit: 200, cursor: c }));
        for (const e of page.items) lines.push(JSON.stringify(e));
        c = page.next_cursor;
        if (!c) break;
      }
      download(`audit-${agency.name.replace(/[^A-Za-z0-9_-]+/g, '-')}.jsonl`, lines.join('\n') + '\n', 'application/x-ndjson');
      announce(`Exported ${lines.length} entries`);
    } catch (e) {
      setExportError(e);
    }
    setExporting(false);
  }

  return (
    <section class="page">
      <div class="page-head">
        <PageTitle text="Audit log" />
        {log.error ? null : (
          <button type="button" class="button" disabled={exporting} onClick={exportAll}>
            {exporting ? 'Exporting…' : 'Export (JSON Lines)'}
          </button>
        )}
      </div>
      <FormError error={exportError} fields={[]} />
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
        <TextField label="User id" name="user_id" value={userId} onValue={setUserId} hint="Actor or subject" error={log.error} />
        <div class="field field-button">
          <button type="submit" class="button">
            Filter
          </button>
        </div>
      </form>
      {log.error ? <LoadProblem error={log.error} what="The audit log" /> : null}
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

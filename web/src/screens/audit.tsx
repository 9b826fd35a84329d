// The agency's audit log: who did what, when, to whom and where, each entry as a sentence with
// its raw details one click away; filtered by person (name or address), kind of action and
// dates, a page at a time, and exported as CSV or NDJSON by the server.
import { useState } from 'preact/hooks';
import { get, withQuery } from '../api';
import { AgencyShell, useAgency } from '../agency';
import type { AuditEntry, Page } from '../types';
import { fieldMessage, LoadProblem, Loading, PageTitle, TextField, useId, useLoad } from '../ui';
import { Pager } from './agencies';
import { AuditEntries } from './audit_entries';
import { type AuditRow, KIND_GROUPS } from './audit_kinds';
import { usePager } from './use_pager';

// The entries of one person or place, as the shared list shows them (the user panel's tab).
export function AuditTable({ entries }: { entries: AuditEntry[]; compact?: boolean }) {
  return <AuditEntries entries={entries as AuditRow[]} />;
}

interface Filter {
  q: string;
  action: string;
  from: string; // yyyy-mm-dd, local
  to: string;
}

const NO_FILTER: Filter = { q: '', action: '', from: '', to: '' };

// A local date's midnight (plus days) as RFC 3339, for the server's since and until.
function midnight(date: string, plusDays = 0): string | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!m) return undefined;
  return new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + plusDays).toISOString();
}

function query(f: Filter) {
  return {
    q: f.q || undefined,
    action: f.action || undefined,
    since: midnight(f.from),
    until: midnight(f.to, 1), // the whole of the last day
  };
}

interface KindFieldProps {
  value: string;
  onValue: (v: string) => void;
  error: unknown;
}

function KindField({ value, onValue, error }: KindFieldProps) {
  const id = useId('kind');
  const msg = fieldMessage(error, 'action');
  return (
    <div class={`field${msg ? ' field-invalid' : ''}`}>
      <label for={id}>Kind of action</label>
      <select
        id={id}
        name="action"
        value={value}
        onChange={(e) => onValue((e.currentTarget as HTMLSelectElement).value)}
      >
        <option value="">Any kind</option>
        {KIND_GROUPS.map((g) => (
          <optgroup key={g.label} label={g.label}>
            {g.kinds.map((k) => (
              <option key={k.value} value={k.value}>
                {k.label}
              </option>
            ))}
          </optgroup>
        ))}
      </select>
      {msg ? <p class="field-error">{msg}</p> : null}
    </div>
  );
}

interface DateFieldProps {
  label: string;
  name: string;
  value: string;
  onValue: (v: string) => void;
  error?: string | null;
}

function DateField(p: DateFieldProps) {
  const id = useId(p.name);
  return (
    <div class={`field${p.error ? ' field-invalid' : ''}`}>
      <label for={id}>{p.label}</label>
      <input
        id={id}
        type="date"
        name={p.name}
        value={p.value}
        aria-invalid={p.error ? 'true' : undefined}
        aria-describedby={p.error ? `${id}-error` : undefined}
        onInput={(e) => p.onValue((e.currentTarget as HTMLInputElement).value)}
      />
      {p.error ? (
        <p class="field-error" id={`${id}-error`}>
          {p.error}
        </p>
      ) : null}
    </div>
  );
}

function AuditLog() {
  const { agency: current } = useAgency();
  const agency = current.id;
  const [draft, setDraft] = useState<Filter>(NO_FILTER);
  const [filter, setFilter] = useState<Filter>(NO_FILTER);
  const [rangeError, setRangeError] = useState<string | null>(null);
  const pager = usePager();
  const cursor = pager.cursor;
  const path = `/agencies/${encodeURIComponent(agency)}/audit`;
  const log = useLoad(
    () =>
      get<Page<AuditRow>>(
        withQuery(path, { ...query(filter), group: 'impersonation', limit: 50, cursor }),
      ),
    [path, filter, cursor],
  );
  // The export streams every matching entry; the browser downloads it with the session cookie.
  const exportHref = (format: string) =>
    `/api/v1${withQuery(`${path}/export`, { ...query(filter), format })}`;
  const filtered = filter !== NO_FILTER;
  const set = (k: keyof Filter) => (v: string) => setDraft({ ...draft, [k]: v });
  const apply = (f: Filter) => {
    pager.reset();
    setFilter(f);
  };

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
        class="filters audit-filters"
        aria-label="Filter the audit log"
        onSubmit={(e) => {
          e.preventDefault();
          if (draft.from && draft.to && draft.from > draft.to) {
            setRangeError('The end date comes before the start date');
            return;
          }
          setRangeError(null);
          apply({ ...draft, q: draft.q.trim() });
        }}
      >
        <TextField
          label="Person"
          name="q"
          value={draft.q}
          onValue={set('q')}
          hint="Name or email address"
          error={log.error}
        />
        <KindField value={draft.action} onValue={set('action')} error={log.error} />
        <div class="audit-range">
          <DateField
            label="From"
            name="since"
            value={draft.from}
            onValue={set('from')}
            error={fieldMessage(log.error, 'since')}
          />
          <DateField
            label="To"
            name="until"
            value={draft.to}
            onValue={set('to')}
            error={rangeError || fieldMessage(log.error, 'until')}
          />
        </div>
        <div class="field field-button">
          <button type="submit" class="button button-primary">
            Filter
          </button>
        </div>
        {filtered ? (
          <div class="field field-button">
            <button
              type="button"
              class="button"
              onClick={() => {
                setDraft(NO_FILTER);
                setRangeError(null);
                apply(NO_FILTER);
              }}
            >
              Clear
            </button>
          </div>
        ) : null}
      </form>
      {log.error && !['action', 'q', 'since', 'until'].includes(log.error.field || '') ? (
        <LoadProblem error={log.error} what="The audit log" />
      ) : null}
      {!log.data ? (
        log.error ? null : (
          <Loading />
        )
      ) : log.data.items.length === 0 ? (
        <p class="muted">Nothing recorded{filtered ? ' for this filter' : ''}.</p>
      ) : (
        <AuditEntries entries={log.data.items} />
      )}
      <Pager {...pager.props(log.data?.next_cursor)} />
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

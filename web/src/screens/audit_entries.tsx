// Audit entries as people read them: one compact row per entry with its sentence, when it
// happened (relative and exact), and its raw details one click away; the pages someone opened
// while viewing as another person folded under the start of that view. Shared by the audit log
// screen and the audit tab of the user panel.
import { useAgency } from '../agency';
import { plural } from '../format';
import './audit.css';
import { type AuditRow, type Part, type SentenceContext, sentenceOf } from './audit_kinds';
import { usePlaceNames } from './place_names';
import type { Grant } from '../types';

const exact = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['year', 365 * 86400],
  ['month', 30 * 86400],
  ['week', 7 * 86400],
  ['day', 86400],
  ['hour', 3600],
  ['minute', 60],
];

// "3 minutes ago", "yesterday", "just now".
export function ago(iso: string, now = Date.now()): string {
  const secs = (Date.parse(iso) - now) / 1000;
  for (const [unit, size] of UNITS) {
    if (Math.abs(secs) >= size) return relative.format(Math.round(secs / size), unit);
  }
  return 'just now';
}

function When({ at }: { at: string }) {
  const d = new Date(at);
  if (Number.isNaN(d.getTime())) return <span>{at}</span>;
  return (
    <time dateTime={at} class="audit-when">
      {ago(at)} <span class="muted">· {exact.format(d)}</span>
    </time>
  );
}

const capital = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

function Sentence({ parts }: { parts: Part[] }) {
  const first = parts.findIndex((p) => typeof p === 'string' && p.length > 0);
  return (
    <>
      {parts.map((p, i) => {
        if (typeof p === 'string') return i === first && i === 0 ? capital(p) : p;
        if ('place' in p) return <strong key={i}>{p.place}</strong>;
        // An address stays as written; our own words ("someone") start a sentence capitalised.
        const who = i === 0 && !p.person.includes('@') ? capital(p.person) : p.person;
        return p.deleted ? (
          <em key={i} class="audit-deleted">
            {who}
          </em>
        ) : (
          <strong key={i}>{who}</strong>
        );
      })}
    </>
  );
}

// Everything the server keeps about the entry, as it keeps it.
function Raw({ e }: { e: AuditRow }) {
  const raw = {
    id: e.id,
    at: e.at,
    action: e.action,
    actor_id: e.actor_id,
    impersonator_id: e.impersonator_id,
    subject_user_id: e.subject_user_id,
    scope: e.scope,
    source_ip: e.source_ip,
    user_agent: e.user_agent,
    details: e.details,
  };
  return (
    <details class="audit-raw">
      <summary>Raw details</summary>
      <pre>{JSON.stringify(raw, null, 2)}</pre>
    </details>
  );
}

interface PageView {
  id: string;
  at: string;
  method?: string;
  route?: string;
}

function Pages({ count, items }: { count: number; items: PageView[] }) {
  if (count === 0) return null;
  return (
    <details class="audit-raw">
      <summary>{plural(count, 'page opened', 'pages opened')}</summary>
      <ol class="audit-pages">
        {items.map((r) => (
          <li key={r.id}>
            <code>
              {r.method || 'GET'} {r.route || '?'}
            </code>{' '}
            <When at={r.at} />
          </li>
        ))}
      </ol>
      {count > items.length ? <p class="muted small">and {count - items.length} more</p> : null}
    </details>
  );
}

// A row of the list: an entry, or a run of page views made while viewing as someone that the
// server did not group (the panel's per-person trail).
type Row = { entry: AuditRow; views?: AuditRow[] };

function rowsOf(entries: AuditRow[]): Row[] {
  const rows: Row[] = [];
  for (const e of entries) {
    const last = rows[rows.length - 1];
    if (
      e.action === 'impersonation.request' &&
      last?.views &&
      last.entry.actor_id === e.actor_id &&
      last.entry.impersonator_id === e.impersonator_id
    ) {
      last.views.push(e);
      continue;
    }
    rows.push(e.action === 'impersonation.request' ? { entry: e, views: [e] } : { entry: e });
  }
  return rows;
}

function Entry({ row, ctx }: { row: Row; ctx: SentenceContext }) {
  const e = row.entry;
  let parts = sentenceOf(e, ctx);
  let pages: { count: number; items: PageView[] } | null = null;
  if (row.views) {
    const first = row.views[0];
    // Said as the start of that view: the one viewing acts, the one viewed as is the subject.
    const start: AuditRow = {
      ...first,
      action: 'impersonation.started',
      actor_id: first.impersonator_id,
      actor_name: first.impersonator_name,
      actor_email: first.impersonator_email,
      actor_deleted: first.impersonator_deleted,
      subject_user_id: first.actor_id,
      subject_name: first.actor_name,
      subject_email: first.actor_email,
      subject_deleted: first.actor_deleted,
    };
    parts = sentenceOf(start, ctx);
    const items = [...row.views]
      .reverse()
      .map((v) => ({ id: v.id, at: v.at, ...(v.details as object) }));
    pages = { count: row.views.length, items };
  } else if (e.requests) {
    pages = e.requests;
  }
  if (pages) parts = [...parts, ` — ${plural(pages.count, 'page', 'pages')}`];
  return (
    <li class="audit-entry" data-action={e.action}>
      <p class="audit-sentence">
        <Sentence parts={parts} />
      </p>
      <div class="audit-meta">
        <When at={e.at} />
        {pages ? <Pages count={pages.count} items={pages.items} /> : null}
        {row.views ? null : <Raw e={e} />}
      </div>
    </li>
  );
}

interface AuditEntriesProps {
  entries: AuditRow[];
  label?: string;
}

export function AuditEntries({ entries, label = 'Audit entries' }: AuditEntriesProps) {
  const { environments, roles } = useAgency();
  // Bots are named by asking for them (entries carry their ids only), environments from the
  // agency's list.
  const botGrants: Grant[] = [];
  for (const e of entries) {
    const grants = (e.details as { grants?: unknown } | null)?.grants;
    if (!Array.isArray(grants)) continue;
    for (const g of grants as Partial<Grant>[])
      if (typeof g.bot_id === 'string')
        botGrants.push({ bot_id: g.bot_id, roles: [], extra_permissions: [] });
  }
  const places = usePlaceNames(botGrants, environments);
  const ctx = { environments, roles, bots: places.bots };
  return (
    <ol class="audit-list" aria-label={label}>
      {rowsOf(entries).map((row) => (
        <Entry key={row.entry.id} row={row} ctx={ctx} />
      ))}
    </ol>
  );
}

// Inviting many people at once from a CSV file: the file is checked by the server first and its
// problems shown by row and column, with the end each row's access gets; nothing is sent until
// the file is right, unless the admin chooses to send the valid rows; then each row says what
// became of it. Each row may name its own end (expires_at); the server holds every row to the
// sender's own right to give it there (rule 4), and a row without an end ends with that right.
import { useRef, useState } from 'preact/hooks';
import { ApiError, api, messageOf } from '../api';
import { useAgency } from '../agency';
import { sentence } from '../format';
import { readableDay } from '../ceiling';
import { useGrantable } from '../grantable';
import { Dialog, FormError, announce, useId } from '../ui';

interface BulkRow {
  row: number;
  email: string | null;
  first_name: string | null;
  last_name: string | null;
  shortcode: string | null;
  environment: string | null;
  roles: string | null;
  valid: boolean;
  // The end the row's access gets (null: none) and whence: its own cell, the request's default,
  // or the sender's own end ("ceiling").
  expires_at?: string | null;
  expires_at_source?: 'row' | 'default' | 'ceiling' | null;
  result?: 'created' | 'refused' | 'skipped';
  message?: string | null;
}

interface BulkProblem {
  row: number;
  column: string | null;
  message: string;
}

interface BulkAnswer {
  sent: boolean;
  row_count: number;
  valid_count?: number;
  created?: number;
  refused?: number;
  skipped?: number;
  problems: BulkProblem[];
  rows: BulkRow[];
}

const COLUMN_WORDS: Record<string, string> = {
  email: 'Email',
  first_name: 'First name',
  last_name: 'Last name',
  shortcode: 'Shortcode',
  environment: 'Environment',
  roles: 'Roles',
  expires_at: 'End date',
};

function where(p: BulkProblem): string {
  const col = p.column ? COLUMN_WORDS[p.column] || p.column : null;
  if (p.row === 0) return 'The file';
  return col ? `Row ${p.row}, ${col}` : `Row ${p.row}`;
}

const RESULT_WORDS = { created: 'Invited', refused: 'Refused', skipped: 'Not sent' };

// What became of a row: "Invited", "Refused: <why>", or the server's "not sent…" as a sentence.
function resultText(r: BulkRow): string {
  if (r.result === 'skipped') return sentence(r.message || 'not sent');
  if (r.result === 'refused') return `${RESULT_WORDS.refused}: ${r.message || ''}`;
  return r.result ? RESULT_WORDS[r.result] : '';
}

const dayThisYear = new Intl.DateTimeFormat('en-GB', {
  day: 'numeric',
  month: 'short',
  timeZone: 'UTC',
});
const dayOtherYear = new Intl.DateTimeFormat('en-GB', {
  day: 'numeric',
  month: 'short',
  year: 'numeric',
  timeZone: 'UTC',
});

// "until 31 Jan" (with the year when it is not this one), in UTC as the file's dates are.
function untilDay(iso: string): string {
  const d = new Date(iso);
  const f = d.getUTCFullYear() === new Date().getUTCFullYear() ? dayThisYear : dayOtherYear;
  return `until ${f.format(d)}`;
}

// "A, B and C".
const listed = (items: string[]) =>
  items.length < 2 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;

// Where the sender's own right to invite ends, in words: each row ends by then in its
// environment, and a row without an end of its own ends then. null when it ends nowhere.
function endsSentence(ends: { name: string; until: string }[], places: number): string | null {
  if (!ends.length) return null;
  const rows = 'a row without an end of its own ends then, and no row may end later.';
  if (new Set(ends.map((e) => e.until)).size === 1 && ends.length === places)
    return `Your own access here ends on ${readableDay(ends[0].until)}: ${rows}`;
  const sorted = [...ends].sort((a, b) => Date.parse(a.until) - Date.parse(b.until));
  const where =
    sorted.length <= 3
      ? listed(sorted.map((e) => `on ${readableDay(e.until)} in ${e.name}`))
      : `in ${sorted.length} environments, the earliest on ${readableDay(sorted[0].until)} in ` +
        sorted[0].name;
  return (
    `Your own access ends ${where}. A row without an end of its own ends when your access to ` +
    'its environment ends, and no row may end later.'
  );
}

export function BulkInviteDialog({ onClose, onSent }: { onClose: () => void; onSent: () => void }) {
  const { agency, environments, access } = useAgency();
  const fileId = useId('bulk-file');
  // Where the sender's own right to invite ends, to say so before the file is chosen: the
  // server ends each row there (and answers each row's end), nothing is sent for it from here.
  const places = environments.filter((e) =>
    access.can('users.invite', agency.id, { environmentId: e.id }),
  );
  const grantable = useGrantable(
    agency.id,
    'invite',
    places.map((e) => e.id),
  );
  const ends = places.flatMap((e) => {
    const until = grantable.offer(e.id).data?.until;
    return until ? [{ name: e.name, until }] : [];
  });
  const ceiling = endsSentence(ends, places.length);
  const [csv, setCsv] = useState<string | null>(null);
  const [fileName, setFileName] = useState('');
  const [answer, setAnswer] = useState<BulkAnswer | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const summary = useRef<HTMLDivElement>(null);
  const path = `/agencies/${encodeURIComponent(agency.id)}/invitations/bulk`;

  // Asks the server; a file with problems answers 400 invalid_rows with the same shape.
  async function ask(text: string, query: string): Promise<void> {
    setBusy(true);
    setError(null);
    try {
      const a = await api<BulkAnswer>('POST', `${path}${query}`, text, {
        contentType: 'text/csv',
      });
      setAnswer(a);
      if (a.sent) {
        announce(
          `${a.created ?? 0} invited, ${a.refused ?? 0} refused, ${a.skipped ?? 0} not sent`,
        );
        onSent();
      }
    } catch (e) {
      if (e instanceof ApiError && e.code === 'invalid_rows')
        setAnswer(e.body as unknown as BulkAnswer);
      else {
        setAnswer(null);
        setError(e);
      }
    }
    setBusy(false);
    setTimeout(() => summary.current?.focus(), 0);
  }

  async function chosen(e: Event) {
    const input = e.currentTarget as HTMLInputElement;
    const file = input.files?.[0];
    setAnswer(null);
    if (!file) return;
    setFileName(file.name);
    try {
      const text = await file.text();
      setCsv(text);
      await ask(text, '?validate_only=1');
    } catch (err) {
      setError(new Error(`The file cannot be read: ${messageOf(err)}`));
    }
  }

  const problems = answer?.problems || [];
  const valid = answer?.valid_count ?? 0;
  const sent = !!answer?.sent;
  const problemsOf = (row: number) => problems.filter((p) => p.row === row);
  return (
    <Dialog title="Invite people from a file" onClose={onClose} wide>
      <p>
        A CSV file with a header row: <code>email</code>, <code>first_name</code>,{' '}
        <code>last_name</code>, <code>shortcode</code>, <code>environment</code> (its name),{' '}
        <code>roles</code> (names separated by ; or |) and <code>expires_at</code> (when their
        access ends: a date like 2027-01-31, the end of that day in UTC; empty for no end of its
        own). Nothing is sent until you choose to.{' '}
        <a href={`/api/v1${path}/template`} download="invitations-template.csv">
          Download the template
        </a>
      </p>
      {ceiling ? (
        <p class="note note-info" id={`${fileId}-ceiling`}>
          {ceiling}
        </p>
      ) : null}
      <div class="field">
        <label for={fileId}>CSV file</label>
        <input
          id={fileId}
          type="file"
          accept=".csv,text/csv"
          onChange={chosen}
          disabled={busy || sent}
          aria-describedby={ceiling ? `${fileId}-ceiling` : undefined}
        />
      </div>
      <FormError error={error} fields={[]} />
      {busy ? (
        <p class="muted" role="status">
          Working…
        </p>
      ) : null}
      {answer ? (
        <div>
          <div
            ref={summary}
            tabIndex={-1}
            role="status"
            class={`note ${problems.length ? 'note-error' : 'note-ok'}`}
          >
            {sent
              ? `${answer.created ?? 0} invited, ${answer.refused ?? 0} refused, ${answer.skipped ?? 0} not sent.`
              : problems.length
                ? `${fileName || 'The file'}: ${problems.length} problem${problems.length === 1 ? '' : 's'} in ` +
                  `${answer.row_count} row${answer.row_count === 1 ? '' : 's'}; ${valid} row${valid === 1 ? ' is' : 's are'} ` +
                  'valid. Nothing was sent.'
                : `${fileName || 'The file'}: ${answer.row_count} ${answer.row_count === 1 ? 'person' : 'people'} ready to invite.`}
          </div>
          {problems.length ? (
            <ul class="bulk-problems" aria-label="Problems">
              {problems.map((p, i) => (
                <li key={i}>
                  <strong>{where(p)}:</strong> {p.message}
                </li>
              ))}
            </ul>
          ) : null}
          {answer.rows.length ? (
            <div class="bulk-table-wrap" tabIndex={0} role="region" aria-label="Rows of the file">
              <table class="bulk-table">
                <thead>
                  <tr>
                    <th scope="col">Row</th>
                    <th scope="col">Person</th>
                    <th scope="col">Environment</th>
                    <th scope="col">Roles</th>
                    <th scope="col">Ends</th>
                    <th scope="col">{sent ? 'Result' : 'Check'}</th>
                  </tr>
                </thead>
                <tbody>
                  {answer.rows.map((r) => (
                    <tr key={r.row} class={r.valid ? '' : 'bulk-bad'}>
                      <th scope="row" data-label="Row">
                        {r.row}
                      </th>
                      <td data-label="Person" class="bulk-person">
                        {r.first_name || r.last_name ? (
                          <span class="bulk-name">
                            {[r.first_name, r.last_name].filter(Boolean).join(' ')}
                          </span>
                        ) : null}
                        <span class="bulk-email">{r.email}</span>
                      </td>
                      <td data-label="Environment">{r.environment}</td>
                      <td data-label="Roles">{r.roles}</td>
                      <td data-label="Ends" class="bulk-ends">
                        {r.expires_at ? (
                          <>
                            {untilDay(r.expires_at)}
                            {r.expires_at_source === 'ceiling' ? (
                              <span class="bulk-note"> when your access ends</span>
                            ) : null}
                          </>
                        ) : r.valid ? (
                          'No end'
                        ) : null}
                      </td>
                      <td data-label={sent ? 'Result' : 'Check'}>
                        {r.result
                          ? resultText(r)
                          : r.valid
                            ? 'OK'
                            : problemsOf(r.row)
                                .map((p) => p.message)
                                .join('; ')}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ) : null}
        </div>
      ) : null}
      <div class="actions">
        <button type="button" class="button" onClick={onClose}>
          {sent ? 'Close' : 'Cancel'}
        </button>
        {answer && !sent && csv !== null && problems.length === 0 && answer.row_count > 0 ? (
          <button
            type="button"
            class="button button-primary"
            disabled={busy}
            onClick={() => ask(csv, '')}
          >
            Send all
          </button>
        ) : null}
        {answer && !sent && csv !== null && problems.length > 0 && valid > 0 ? (
          <button
            type="button"
            class="button button-primary"
            disabled={busy}
            onClick={() => ask(csv, '?send=valid')}
          >
            Send the {valid} valid row{valid === 1 ? '' : 's'}
          </button>
        ) : null}
      </div>
    </Dialog>
  );
}

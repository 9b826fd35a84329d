// Inviting many people at once from a CSV file: the file is checked by the server first and its
// problems shown by row and column; nothing is sent until the file is right, unless the admin
// chooses to send the valid rows; then each row says what became of it.
import { useRef, useState } from 'preact/hooks';
import { ApiError, api, messageOf } from '../api';
import { useAgency } from '../agency';
import { ceilingSentence, earliestEnd } from '../ceiling';
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
};

function where(p: BulkProblem): string {
  const col = p.column ? COLUMN_WORDS[p.column] || p.column : null;
  if (p.row === 0) return 'The file';
  return col ? `Row ${p.row}, ${col}` : `Row ${p.row}`;
}

const RESULT_WORDS = { created: 'Invited', refused: 'Refused', skipped: 'Not sent' };

export function BulkInviteDialog({ onClose, onSent }: { onClose: () => void; onSent: () => void }) {
  const { agency, environments, access } = useAgency();
  const fileId = useId('bulk-file');
  // Rows name no end of their own: when the sender's right to invite ends somewhere, every
  // invitation of the file ends at the earliest such end (rule 4), said here and sent along.
  const places = environments
    .filter((e) => access.can('users.invite', agency.id, { environmentId: e.id }))
    .map((e) => e.id);
  const grantable = useGrantable(agency.id, 'invite', places);
  const offers = places.map((p) => grantable.offer(p));
  const known = offers.every((o) => o.data || o.error);
  const ceiling = earliestEnd(...offers.map((o) => o.data?.until));
  const withEnd = (query: string) =>
    ceiling ? `${query}${query ? '&' : '?'}expires_at=${encodeURIComponent(ceiling)}` : query;
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
      const a = await api<BulkAnswer>('POST', `${path}${withEnd(query)}`, text, {
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
        <code>last_name</code>, <code>shortcode</code>, <code>environment</code> (its name) and{' '}
        <code>roles</code> (names separated by ; or |). Nothing is sent until you choose to.{' '}
        <a href={`/api/v1${path}/template`} download="invitations-template.csv">
          Download the template
        </a>
      </p>
      {ceiling ? (
        <p class="note note-info" id={`${fileId}-ceiling`}>
          {ceilingSentence(ceiling)} Every invitation from this file gives access until then.
        </p>
      ) : null}
      <div class="field">
        <label for={fileId}>CSV file</label>
        <input
          id={fileId}
          type="file"
          accept=".csv,text/csv"
          onChange={chosen}
          disabled={busy || sent || !known}
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
                    <th scope="col">Email</th>
                    <th scope="col">Name</th>
                    <th scope="col">Environment</th>
                    <th scope="col">Roles</th>
                    <th scope="col">{sent ? 'Result' : 'Check'}</th>
                  </tr>
                </thead>
                <tbody>
                  {answer.rows.map((r) => (
                    <tr key={r.row} class={r.valid ? '' : 'bulk-bad'}>
                      <td>{r.row}</td>
                      <td>{r.email}</td>
                      <td>{[r.first_name, r.last_name].filter(Boolean).join(' ')}</td>
                      <td>{r.environment}</td>
                      <td>{r.roles}</td>
                      <td>
                        {r.result
                          ? `${RESULT_WORDS[r.result]}${r.result === 'created' ? '' : `: ${r.message || ''}`}`
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

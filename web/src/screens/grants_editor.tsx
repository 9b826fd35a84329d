// The grants editor of the invite dialog and the user panel: one row per scope, each offering
// exactly the roles and extra permissions the server says the signed-in person may give there,
// and saying why the others are missing. Choosing the whole agency as a scope asks first: it
// gives access to every environment, those of today and those made later.
import { useEffect, useState } from 'preact/hooks';
import { ApiError } from '../api';
import { environmentName, useAgency } from '../agency';
import { sentence } from '../format';
import { dayHeldTo, earliestEnd, endToSend } from '../ceiling';
import { GrantPurpose, ScopeOffer, useGrantable } from '../grantable';
import type { Grant, Role } from '../types';
import { Confirm, IconPlus, fieldMessage } from '../ui';
import { humanMessage } from '../messages';
import { GrantRow } from './grant_row';
import { UntilField, endRefused, pastCeilingRefusal } from './until_field';

export interface GrantDraft {
  scope: string; // '' for the whole agency, else an environment id
  roles: string[];
  extra: string[];
  until?: string; // the last day of access (YYYY-MM-DD, UTC); '' or absent: it does not end
  // When the giver's own right to give this ends (RFC 3339), from the server: the grant ends
  // no later. Absent or null: no limit.
  ceiling?: string | null;
}

// A grant's last day as the date field holds it: the UTC day of its end.
export const untilOf = (expiresAt?: string | null) =>
  expiresAt ? new Date(expiresAt).toISOString().slice(0, 10) : '';

export function draftOf(g: Grant, roles: Role[]): GrantDraft {
  // Custom roles may come back by name: keep the value the checkboxes use (id when known).
  const ids = g.roles.map(
    (r) => roles.find((x) => !x.built_in && (x.name === r || x.id === r))?.id || r,
  );
  return {
    scope: g.environment_id || '',
    roles: ids,
    extra: [...g.extra_permissions],
    until: untilOf(g.expires_at),
  };
}

export function grantOf(d: GrantDraft): Grant {
  const g: Grant = { roles: d.roles, extra_permissions: d.extra };
  if (d.scope) g.environment_id = d.scope;
  // Access lasts to the end of its last day, in UTC, as the field says, and never past the
  // giver's own right to give it.
  const end = endToSend(d.until, d.ceiling);
  if (end) g.expires_at = end;
  return g;
}

// When the giver's right to give what draft d chooses ends, from the server's answer for its
// scope: the earliest of the scope's end and those of the chosen roles and permissions.
export function ceilingOf(d: GrantDraft, offer: ScopeOffer): string | null {
  const data = offer.data;
  if (!data) return null;
  return earliestEnd(
    data.until,
    ...data.roles.filter((r) => d.roles.includes(r.id)).map((r) => r.until),
    ...data.extra_permissions.filter((p) => d.extra.includes(p.name)).map((p) => p.until),
  );
}

// The draft held to its ceiling: the ceiling noted, and the last day set to the ceiling's day
// when it is empty or later.
function heldTo(d: GrantDraft, ceiling: string | null): GrantDraft {
  if (!ceiling) return d.ceiling ? { ...d, ceiling: null } : d;
  return { ...d, ceiling, until: dayHeldTo(d.until || '', ceiling) };
}

// The refusal of the first draft whose last day was typed past its ceiling, at its date
// field; null when every end fits. The forms check it before sending.
export function pastCeilingDraft(drafts: GrantDraft[]): ApiError | null {
  for (const [i, d] of drafts.entries()) {
    const refusal = pastCeilingRefusal(`grants[${i}].expires_at`, d.until, d.ceiling);
    if (refusal) return refusal;
  }
  return null;
}

// A grant that gives nothing: no role and no extra permission.
export const isEmptyDraft = (d: GrantDraft) => d.roles.length === 0 && d.extra.length === 0;

const GRANT_AT = /^grants\[(\d+)\]/;

// The words of an API error about grant i (its field is grants[i]…, or "grants" with words
// naming grants[i]), without the field's code name; null when it is about something else.
export function grantMessage(err: unknown, i: number): string | null {
  if (!(err instanceof ApiError) || !err.field) return null;
  const at =
    GRANT_AT.exec(err.field)?.[1] ??
    (err.field === 'grants' ? GRANT_AT.exec(err.message)?.[1] : undefined);
  if (at === undefined || Number(at) !== i) return null;
  if (err.code === 'empty_grant') return 'This access gives nothing: choose at least one role.';
  const rest = err.message.replace(/^grants\[\d+\]\S*?[:\s]+/, '');
  return sentence(
    humanMessage(
      new ApiError(err.status, err.code, rest, err.field, err.requestId, err.retryAfter),
    ),
  );
}

interface EditorProps {
  value: GrantDraft[];
  onChange: (v: GrantDraft[]) => void;
  error: unknown;
  purpose: GrantPurpose; // invite: for an invitation (users.invite); manage: changing grants
  allowEmpty?: boolean;
}

export function GrantsEditor({ value, onChange, error, purpose, allowEmpty }: EditorProps) {
  const { agency, environments, roles, access } = useAgency();
  const authority = purpose === 'invite' ? 'users.invite' : 'users.manage';
  const grantable = useGrantable(
    agency.id,
    purpose,
    value.map((g) => g.scope),
  );
  const scopes = [
    ...(access.can(authority, agency.id)
      ? [{ id: '', name: 'Whole agency (ripples down to every environment)' }]
      : []),
    ...environments.filter((e) => access.can(authority, agency.id, { environmentId: e.id })),
  ];
  const apply = (i: number, d: Partial<GrantDraft>) =>
    onChange(value.map((g, k) => (k === i ? { ...g, ...d } : g)));
  // A scope changed to the whole agency waits for the confirmation.
  const [asked, setAsked] = useState<{ i: number; d: Partial<GrantDraft> } | null>(null);
  const update = (i: number, d: Partial<GrantDraft>) =>
    d.scope === '' && value[i].scope !== '' ? setAsked({ i, d }) : apply(i, d);
  const unused = scopes.filter((s) => !value.some((g) => g.scope === s.id));
  // A refusal for outlasting one's own access means the answer held here is out of date (the
  // giver's access changed meanwhile): ask again, and the drafts are held to the new end.
  useEffect(() => {
    if (!(error instanceof ApiError) || error.code !== 'grant_ceiling') return;
    value.forEach((g, i) => grantMessage(error, i) && grantable.retry(g.scope));
    // Only a new refusal asks again.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [error]);
  // Each grant held to when the giver's own right to give it ends, once the server said so.
  const ceilings = value.map((g) => ceilingOf(g, grantable.offer(g.scope)));
  const ceilingKey = ceilings.join('\n');
  useEffect(() => {
    const held = value.map((g, i) => heldTo(g, ceilings[i]));
    if (held.some((g, i) => g !== value[i])) onChange(held);
    // ceilingKey stands for the ceilings: the drafts are held again only when one changes.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [ceilingKey, value.length]);
  const groupMessage = fieldMessage(error, 'grants');
  const shownInRow = value.some((_, i) => grantMessage(error, i));
  return (
    <div class="grants-editor">
      {value.map((g, i) => {
        // A grant the member already holds where the editor may not act stays nameable.
        const choices = scopes.filter(
          (s) => s.id === g.scope || !value.some((o) => o.scope === s.id),
        );
        if (!choices.some((s) => s.id === g.scope))
          choices.unshift({ id: g.scope, name: environmentName(environments, g.scope) });
        return (
          <GrantRow
            key={i}
            index={i}
            draft={g}
            scopes={choices}
            offer={grantable.offer(g.scope)}
            onRetry={() => grantable.retry(g.scope)}
            catalogue={roles}
            message={endRefused(error) ? null : grantMessage(error, i)}
            canRemove={allowEmpty || value.length > 1}
            onChange={(d) => update(i, d)}
            onRemove={() => onChange(value.filter((_, k) => k !== i))}
          >
            <UntilField
              name={`grants[${i}].expires_at`}
              value={g.until || ''}
              owner={g.roles.includes('owner')}
              ceiling={ceilings[i]}
              error={endRefused(error) ? grantMessage(error, i) : null}
              onValue={(until) => update(i, { until })}
            />
          </GrantRow>
        );
      })}
      {groupMessage && !shownInRow ? <p class="field-error">{groupMessage}</p> : null}
      {asked ? (
        <Confirm
          title="Give access to the whole agency?"
          confirm="Yes, the whole agency"
          danger={false}
          onConfirm={async () => apply(asked.i, asked.d)}
          onClose={() => setAsked(null)}
        >
          <p>
            Access at agency level gives access to every environment of {agency.name}, now and in
            the future: also to environments created later.
          </p>
          <p class="confirm-scope">
            To give access to one environment only, cancel and choose that environment.
          </p>
        </Confirm>
      ) : null}
      {unused.length ? (
        <button
          type="button"
          class="button button-small"
          onClick={() => onChange([...value, { scope: unused[0].id, roles: [], extra: [] }])}
        >
          <IconPlus /> Add another scope
        </button>
      ) : null}
    </div>
  );
}

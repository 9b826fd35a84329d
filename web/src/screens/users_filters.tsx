// The filters of the users overview: search, environment, role, status and order. They live
// in the address (see Overview), so a filtered list can be bookmarked and shared.
import { useEffect, useState } from 'preact/hooks';
import { useAgency } from '../agency';
import type { ApiError } from '../api';
import { roleId, roleLabel } from '../format';
import { useId } from '../ui';

export const SORTS: [string, string][] = [
  ['name', 'Name, A to Z'],
  ['-name', 'Name, Z to A'],
  ['-last_active', 'Recently active'],
  ['-created', 'Newest first'],
  ['created', 'Oldest first'],
];

// Who the table lists: members and pending invitations by default; expired and revoked
// invitations only when asked for.
export const STATUSES: [string, string][] = [
  ['', 'Active and invited'],
  ['active', 'Active'],
  ['invited', 'Invited'],
  ['expired', 'Invitation expired'],
  ['revoked', 'Invitation revoked'],
];

export interface UserFilters {
  q: string;
  env: string;
  role: string;
  status: string;
  sort: string;
}

export function readFilters(query: URLSearchParams): UserFilters {
  const sort = query.get('sort') || '';
  const status = query.get('status') || '';
  return {
    q: query.get('q') || '',
    env: query.get('environment_id') || '',
    role: query.get('role') || '',
    status: STATUSES.some(([k]) => k === status) ? status : '',
    sort: SORTS.some(([k]) => k === sort) ? sort : 'name',
  };
}

interface Props {
  filters: UserFilters;
  error: ApiError | null;
  onChange: (changes: Record<string, string>) => void;
}

export function UsersFilters({ filters, error, onChange }: Props) {
  const { environments, roles } = useAgency();
  const [search, setSearch] = useState(filters.q);
  const id = useId('filters');
  // Runs on typing only: the search reaches the address 300 ms after the last key.
  useEffect(() => {
    if (search.trim() === filters.q) return;
    const t = setTimeout(() => onChange({ q: search.trim() }), 300);
    return () => clearTimeout(t);
    // Runs on typing only, as said above: a new address must not start the wait again.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [search]);
  const select = (key: string) => (e: Event) =>
    onChange({ [key]: (e.currentTarget as HTMLSelectElement).value });
  const searchError = error?.field === 'q';
  return (
    <form class="filters users-filters" role="search" onSubmit={(e) => e.preventDefault()}>
      <div class="field">
        <label for={`${id}-q`}>Search</label>
        <input
          id={`${id}-q`}
          type="search"
          name="q"
          value={search}
          placeholder="Name or email"
          aria-describedby={searchError ? `${id}-q-error` : undefined}
          onInput={(e) => setSearch((e.currentTarget as HTMLInputElement).value)}
        />
        {searchError ? (
          <p class="field-error" id={`${id}-q-error`}>
            {error!.message}
          </p>
        ) : null}
      </div>
      <div class="field">
        <label for={`${id}-env`}>Environment</label>
        <select
          id={`${id}-env`}
          name="environment_id"
          value={filters.env}
          onChange={select('environment_id')}
        >
          <option value="">All environments</option>
          {environments.map((e) => (
            <option key={e.id} value={e.id}>
              {e.name}
            </option>
          ))}
        </select>
      </div>
      <div class="field">
        <label for={`${id}-role`}>Role</label>
        <select id={`${id}-role`} name="role" value={filters.role} onChange={select('role')}>
          <option value="">All roles</option>
          {roles.map((r) => (
            <option key={roleId(r)} value={roleId(r)}>
              {roleLabel(r.name)}
            </option>
          ))}
        </select>
      </div>
      <div class="field">
        <label for={`${id}-status`}>Status</label>
        <select
          id={`${id}-status`}
          name="status"
          value={filters.status}
          onChange={select('status')}
        >
          {STATUSES.map(([k, label]) => (
            <option key={k} value={k}>
              {label}
            </option>
          ))}
        </select>
      </div>
      <div class="field">
        <label for={`${id}-sort`}>Sort by</label>
        <select id={`${id}-sort`} name="sort" value={filters.sort} onChange={select('sort')}>
          {SORTS.map(([k, label]) => (
            <option key={k} value={k}>
              {label}
            </option>
          ))}
        </select>
      </div>
    </form>
  );
}

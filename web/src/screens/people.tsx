// People: every account on the platform, for platform admins (GET /users): search by email or
// name, pages, each person's status, agencies, two-step verification, creation and last
// activity, and per row a menu of what an admin may do to the account (people_actions.tsx).
import { useEffect, useRef, useState } from 'preact/hooks';
import { get, withQuery } from '../api';
import { day, fullName, when } from '../format';
import { Link, navigate, useLocation } from '../router';
import { useSession } from '../session';
import type { Page, PlatformUser } from '../types';
import { Badge, LoadProblem, Loading, PageTitle, useId, useLoad } from '../ui';
import { Pager } from './agencies';
import { usePager } from './use_pager';
import {
  ActionDialog,
  PersonAction,
  actionsFor,
  actionLabel,
  serverActions,
} from './people_actions';

function StatusBadge({ status }: { status: string }) {
  return (
    <Badge kind={status === 'active' ? 'ok' : 'neutral'}>
      {status === 'active' ? 'Active' : status === 'disabled' ? 'Disabled' : status}
    </Badge>
  );
}

// The row's actions behind one button: a disclosure that opens in the row itself, so a
// scrolling table never hides it. Escape or a click elsewhere closes it.
function RowMenu({
  person,
  actions,
  onChoose,
}: {
  person: PlatformUser;
  actions: PersonAction[];
  onChoose: (a: PersonAction) => void;
}) {
  const [open, setOpen] = useState(false);
  const menuId = useId('row-menu');
  const root = useRef<HTMLDivElement>(null);
  const toggle = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    if (!open) return;
    const outside = (e: MouseEvent) => {
      if (root.current && !root.current.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener('mousedown', outside);
    root.current?.querySelector<HTMLButtonElement>('.row-menu button')?.focus();
    return () => document.removeEventListener('mousedown', outside);
  }, [open]);

  if (!actions.length) return null;
  return (
    <div
      ref={root}
      class="row-menu-wrap"
      onKeyDown={(e) => {
        if (e.key === 'Escape' && open) {
          e.preventDefault();
          setOpen(false);
          toggle.current?.focus();
        }
      }}
    >
      <button
        ref={toggle}
        type="button"
        class="button button-small"
        aria-expanded={open ? 'true' : 'false'}
        aria-controls={menuId}
        aria-label={`Actions for ${person.email}`}
        onClick={() => setOpen(!open)}
      >
        Actions <span aria-hidden="true">▾</span>
      </button>
      {open ? (
        <ul id={menuId} class="row-menu">
          {actions.map((a) => (
            <li key={a}>
              <button
                type="button"
                class={
                  a === 'erase' || a === 'disable' || a === 'reset_totp'
                    ? 'row-menu-danger'
                    : undefined
                }
                onClick={() => {
                  setOpen(false);
                  onChoose(a);
                }}
              >
                {actionLabel(a)}
              </button>
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}

function PeopleList() {
  const { me } = useSession();
  const { query } = useLocation();
  const q = query.get('q') || '';
  const [search, setSearch] = useState(q);
  const pager = usePager();
  const cursor = pager.cursor;
  const [acting, setActing] = useState<{ person: PlatformUser; action: PersonAction } | null>(null);
  const searchId = useId('people-search');
  const list = useLoad(
    () => get<Page<PlatformUser>>(withQuery('/users', { q, limit: 50, cursor })),
    [q, cursor],
  );
  const server = useLoad(serverActions, []);

  // The search lives in the address, so a search can be bookmarked, shared and gone back to.
  useEffect(() => {
    if (search.trim() === q) return;
    const t = setTimeout(() => {
      pager.reset();
      const s = search.trim();
      navigate(s ? `/people?${new URLSearchParams({ q: s })}` : '/people', { replace: true });
    }, 300);
    return () => clearTimeout(t);
    // The pager is reset from inside; it must not restart the wait on each render.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [search, q]);

  const rows = list.data?.items || [];
  const twoStep = rows.some((r) => typeof r.second_factor === 'boolean');
  const selfId = me?.user.id || '';
  const searchError = list.error?.field === 'q' ? list.error.message : null;

  return (
    <section class="page people-page">
      <PageTitle text="People" />
      <p class="muted">Every account on this usher server, in every agency.</p>
      <form class="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <div class={`field${searchError ? ' field-invalid' : ''}`}>
          <label for={searchId}>Search</label>
          <input
            id={searchId}
            type="search"
            name="q"
            value={search}
            placeholder="Email or name"
            aria-invalid={searchError ? 'true' : undefined}
            aria-describedby={searchError ? `${searchId}-error` : undefined}
            onInput={(e) => setSearch((e.currentTarget as HTMLInputElement).value)}
          />
          {searchError ? (
            <p class="field-error" id={`${searchId}-error`}>
              {searchError}
            </p>
          ) : null}
        </div>
      </form>
      {list.error && !searchError ? (
        <LoadProblem error={list.error} what="The list of people" />
      ) : null}
      {!list.data ? (
        list.error ? null : (
          <Loading what="Loading people" />
        )
      ) : rows.length === 0 ? (
        <p class="muted" role="status">
          {q ? `Nobody matches “${q}”.` : 'No accounts yet.'}
        </p>
      ) : (
        <div class="table-wrap" tabIndex={0} role="region" aria-label="People table">
          <table class="table table-cards">
            <caption class="visually-hidden">
              {q ? `Accounts matching “${q}”` : 'Every account'}, by email
            </caption>
            <thead>
              <tr>
                <th scope="col">Email</th>
                <th scope="col">Name</th>
                <th scope="col">Status</th>
                <th scope="col">Agencies</th>
                {twoStep ? <th scope="col">Two-step verification</th> : null}
                <th scope="col">Created</th>
                <th scope="col">Last active</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((p) => (
                <tr key={p.id}>
                  <th scope="row" class="people-email">
                    {p.email}
                    {p.id === selfId ? <span class="muted"> (you)</span> : null}
                  </th>
                  <td data-label="Name">
                    {fullName({ first_name: p.first_name, last_name: p.last_name }) || (
                      <span class="muted">—</span>
                    )}
                  </td>
                  <td data-label="Status">
                    <StatusBadge status={p.status} />
                    {p.is_platform_admin ? (
                      <>
                        {' '}
                        <Badge kind="info">Platform admin</Badge>
                      </>
                    ) : null}
                  </td>
                  <td data-label="Agencies">
                    {p.agencies.length ? (
                      <ul class="cell-list">
                        {p.agencies.map((a) => (
                          <li key={a.id}>
                            <Link href={`/agencies/${encodeURIComponent(a.id)}`}>{a.name}</Link>
                          </li>
                        ))}
                      </ul>
                    ) : (
                      <span class="muted">none</span>
                    )}
                  </td>
                  {twoStep ? (
                    <td data-label="Two-step verification">
                      {p.second_factor ? (
                        <Badge kind="ok">On</Badge>
                      ) : (
                        <span class="muted">Off</span>
                      )}
                    </td>
                  ) : null}
                  <td data-label="Created" class="nowrap">
                    {day(p.created_at)}
                  </td>
                  <td data-label="Last active">{when(p.last_active_at)}</td>
                  <td class="row-actions">
                    <RowMenu
                      person={p}
                      actions={server.data ? actionsFor(p, selfId, server.data) : []}
                      onChoose={(action) => setActing({ person: p, action })}
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Pager {...pager.props(list.data?.next_cursor)} />
      {acting ? (
        <ActionDialog
          person={acting.person}
          action={acting.action}
          onClose={() => setActing(null)}
          onDone={list.reload}
        />
      ) : null}
    </section>
  );
}

export function People() {
  const { me } = useSession();
  if (!me?.is_platform_admin || me.impersonator) {
    return (
      <section class="page">
        <PageTitle text="People" />
        <p>
          Only platform administrators see every account.{' '}
          <Link href="/">Go to the control panel</Link>.
        </p>
      </section>
    );
  }
  return <PeopleList />;
}

// Agencies (platform admins create them) and one agency's environments.
import { useState } from 'preact/hooks';
import { get, post, withQuery } from '../api';
import type { Lock } from '../access';
import { AgencyShell, useAgency } from '../agency';
import { day } from '../format';
import { Link, navigate } from '../router';
import { useSession } from '../session';
import type { Agency, Environment, Page } from '../types';
import {
  FormError,
  IconPlus,
  LoadProblem,
  Loading,
  PageTitle,
  TextField,
  announce,
  useLoad,
} from '../ui';
import { SecondFactorPolicy } from './agency_security';
import { InviteDialog } from './invite';
import { DeleteAgencyDialog, DeletePlaceDialog, RenameDialog, SuspendDialog } from './places';
import { usePager } from './use_pager';

// A one-field form that creates something by name; lock disables it while viewing as someone.
export function CreateByName({
  label,
  button,
  onCreate,
  lock,
}: {
  label: string;
  button: string;
  onCreate: (name: string) => Promise<void>;
  lock?: Lock;
}) {
  const [name, setName] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await onCreate(name.trim());
      setName('');
    } catch (err) {
      setError(err);
    }
    setBusy(false);
  }
  return (
    <form class="inline-form" onSubmit={submit} noValidate>
      <TextField
        label={label}
        name="name"
        value={name}
        onValue={setName}
        required
        error={error}
        disabled={lock?.disabled}
      />
      <button
        type="submit"
        class="button button-primary"
        {...lock}
        disabled={busy || lock?.disabled}
      >
        <IconPlus /> {button}
      </button>
      <FormError error={error} fields={['name']} />
    </form>
  );
}

export function Agencies() {
  const { me } = useSession();
  const pager = usePager();
  const cursor = pager.cursor;
  const list = useLoad(
    () => get<Page<Agency>>(withQuery('/agencies', { limit: 50, cursor })),
    [cursor],
  );
  return (
    <section class="page">
      <PageTitle text="Agencies" />
      {me?.is_platform_admin ? (
        <CreateByName
          label="New agency name"
          button="Create agency"
          onCreate={async (name) => {
            const a = await post<Agency>('/agencies', { name });
            announce(`Agency ${a.name} created`);
            navigate(`/agencies/${encodeURIComponent(a.id)}`);
          }}
        />
      ) : null}
      {list.error ? <LoadProblem error={list.error} what="The agency list" /> : null}
      {!list.data ? (
        list.error ? null : (
          <Loading />
        )
      ) : list.data.items.length === 0 ? (
        <p class="muted">No agencies yet.</p>
      ) : (
        <ul class="cards cards-grid">
          {list.data.items.map((a) => (
            <li key={a.id} class="card">
              <h2 class="h3">
                <Link href={`/agencies/${encodeURIComponent(a.id)}`}>{a.name}</Link>
              </h2>
              <p class="muted small">
                Created {day(a.created_at)}
                {a.status === 'suspended' ? ' · Suspended' : ''}
              </p>
            </li>
          ))}
        </ul>
      )}
      <Pager {...pager.props(list.data?.next_cursor)} />
    </section>
  );
}

export function Pager(p: {
  hasPrevious: boolean;
  next: string | null;
  onPrevious: () => void;
  onNext: (c: string) => void;
}) {
  if (!p.hasPrevious && !p.next) return null;
  return (
    <nav class="pager" aria-label="Pages">
      <button type="button" class="button" disabled={!p.hasPrevious} onClick={p.onPrevious}>
        Previous page
      </button>
      <button
        type="button"
        class="button"
        disabled={!p.next}
        onClick={() => p.next && p.onNext(p.next)}
      >
        Next page
      </button>
    </nav>
  );
}

type AgencyDialog = 'rename' | 'suspend' | 'delete' | null;

// What may be done to the agency itself: rename it (agency.manage), suspend, resume and, once
// suspended, delete it (platform admins).
function AgencyActions() {
  const { agency, access, setAgency } = useAgency();
  const { me } = useSession();
  const [open, setOpen] = useState<AgencyDialog>(null);
  const canRename = agency.status !== 'suspended' && access.shows('agency.manage', agency.id);
  const isAdmin = !!me?.is_platform_admin && !me.impersonation;
  const suspended = agency.status === 'suspended';
  if (!canRename && !isAdmin) return null;
  return (
    <div class="place-actions" role="group" aria-label="Agency actions">
      {canRename ? (
        <button
          type="button"
          class="button button-small"
          {...access.lock()}
          onClick={() => setOpen('rename')}
        >
          Rename agency
        </button>
      ) : null}
      {isAdmin ? (
        <button type="button" class="button button-small" onClick={() => setOpen('suspend')}>
          {suspended ? 'Resume agency' : 'Suspend agency'}
        </button>
      ) : null}
      {isAdmin && suspended ? (
        <button
          type="button"
          class="button button-small button-danger"
          onClick={() => setOpen('delete')}
        >
          Delete agency
        </button>
      ) : null}
      {open === 'rename' ? (
        <RenameDialog
          kind="agency"
          id={agency.id}
          name={agency.name}
          onClose={() => setOpen(null)}
          onRenamed={(name) => setAgency({ ...agency, name })}
        />
      ) : null}
      {open === 'suspend' ? (
        <SuspendDialog agency={agency} onClose={() => setOpen(null)} onChanged={setAgency} />
      ) : null}
      {open === 'delete' ? (
        <DeleteAgencyDialog
          agency={agency}
          onClose={() => setOpen(null)}
          onDeleted={() => navigate('/agencies')}
        />
      ) : null}
    </div>
  );
}

function EnvironmentList() {
  const { agency, environments, access, reloadEnvironments } = useAgency();
  const [inviting, setInviting] = useState(false);
  const [renaming, setRenaming] = useState<Environment | null>(null);
  const [deleting, setDeleting] = useState<Environment | null>(null);
  // A suspended agency is read and resumed, not changed.
  const live = agency.status !== 'suspended';
  // The controls the person holds show; while someone views the studio as them, disabled.
  const lock = access.lock();
  const canCreate = live && access.shows('environments.create', agency.id);
  const canInvite = live && access.showsAnywhere('users.invite', agency.id);
  const canRename = (env: Environment) =>
    canCreate || (live && access.shows('environment.manage', agency.id, { environmentId: env.id }));
  return (
    <section class="page">
      <div class="page-head">
        <PageTitle text={agency.name} />
        {canInvite ? (
          <button
            type="button"
            class="button button-primary"
            {...lock}
            onClick={() => setInviting(true)}
          >
            <IconPlus /> Invite user
          </button>
        ) : null}
      </div>
      <AgencyActions />
      <h2>Environments</h2>
      {canCreate ? (
        <CreateByName
          label="New environment name"
          button="Create environment"
          lock={lock}
          onCreate={async (name) => {
            const env = await post<Environment>(
              `/agencies/${encodeURIComponent(agency.id)}/environments`,
              { name },
            );
            announce(`Environment ${env.name} created`);
            reloadEnvironments();
          }}
        />
      ) : null}
      {environments.length === 0 ? (
        <p class="muted">
          {canCreate
            ? 'No environments yet: create the first one above.'
            : 'You have no environment in this agency.'}
        </p>
      ) : (
        <ul class="cards cards-grid env-cards">
          {environments.map((env) => (
            <li key={env.id} class="card">
              <h3>
                <Link href={`/environments/${encodeURIComponent(env.id)}`}>{env.name}</Link>
              </h3>
              <p class="muted small">Created {day(env.created_at)}</p>
              {canRename(env) || canCreate ? (
                <div class="card-actions">
                  {canRename(env) ? (
                    <button
                      type="button"
                      class="button button-small"
                      aria-label={`Rename ${env.name}`}
                      {...lock}
                      onClick={() => setRenaming(env)}
                    >
                      Rename
                    </button>
                  ) : null}
                  {canCreate ? (
                    <button
                      type="button"
                      class="button button-small button-danger"
                      aria-label={`Delete ${env.name}`}
                      {...lock}
                      onClick={() => setDeleting(env)}
                    >
                      Delete
                    </button>
                  ) : null}
                </div>
              ) : null}
            </li>
          ))}
        </ul>
      )}
      <SecondFactorPolicy />
      {inviting ? <InviteDialog onClose={() => setInviting(false)} /> : null}
      {renaming ? (
        <RenameDialog
          kind="environment"
          id={renaming.id}
          name={renaming.name}
          onClose={() => setRenaming(null)}
          onRenamed={reloadEnvironments}
        />
      ) : null}
      {deleting ? (
        <DeletePlaceDialog
          kind="environment"
          id={deleting.id}
          name={deleting.name}
          onClose={() => setDeleting(null)}
          onDeleted={reloadEnvironments}
        />
      ) : null}
    </section>
  );
}

export function AgencyEnvironments({ agencyId }: { agencyId: string }) {
  return (
    <AgencyShell agencyId={agencyId} section="environments">
      <EnvironmentList />
    </AgencyShell>
  );
}

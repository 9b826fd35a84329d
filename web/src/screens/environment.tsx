// One environment: its bots (with the "Shared" badge of seed 001), creating bots, and inviting
// users straight into this environment (Admin → Environment → Invite user), who gets notified
// of its incoming chats, and renaming or deleting it and its bots.
import { useState } from 'preact/hooks';
import { get, post } from '../api';
import { AgencyShell, getAll, useAgency, useScopePermissions } from '../agency';
import { day, fullName } from '../format';
import { Link, navigate } from '../router';
import type { Bot, Environment, Page } from '../types';
import { Badge, IconPlus, LoadProblem, Loading, PageTitle, announce, useLoad } from '../ui';
import { CreateByName } from './agencies';
import { InviteDialog } from './invite';
import { DeletePlaceDialog, RenameDialog } from './places';

interface Recipient {
  id: string;
  email: string;
  first_name: string;
  last_name: string;
}

// Who is notified of the environment's incoming chats: the people whose own grant on it holds
// Agent or Operator (agency-wide agents and operators are not).
function WhoGetsNotified({ env }: { env: Environment }) {
  const list = useLoad(
    () =>
      get<Page<Recipient>>(
        `/environments/${encodeURIComponent(env.id)}/notification-recipients?limit=200`,
      ),
    [env.id],
  );
  return (
    <section class="section" aria-labelledby="notified-title">
      <h2 id="notified-title">Who gets notified</h2>
      <p class="muted small">
        People whose own access to {env.name} includes the Agent or Operator role are told of its
        incoming chats. Agents and operators of the whole agency are not.
      </p>
      {list.error ? <LoadProblem error={list.error} what="Who gets notified" /> : null}
      {!list.data ? (
        list.error ? null : (
          <Loading what="Loading who gets notified" />
        )
      ) : list.data.items.length === 0 ? (
        <p class="muted" data-testid="recipients-none">
          Nobody: give someone the Agent or Operator role on {env.name} to have incoming chats
          noticed.
        </p>
      ) : (
        <ul class="recipients" data-testid="recipients">
          {list.data.items.map((r) => (
            <li key={r.id}>
              <strong>{fullName(r) || r.email}</strong> <span class="muted">{r.email}</span>
            </li>
          ))}
          {list.data.next_cursor ? <li class="muted">…and more</li> : null}
        </ul>
      )}
    </section>
  );
}

function EnvironmentBody({
  env,
  onRenamed,
}: {
  env: Environment;
  onRenamed: (name: string) => void;
}) {
  const { agency, access, reloadEnvironments } = useAgency();
  const [dialog, setDialog] = useState<'rename' | 'delete' | null>(null);
  const [botRenaming, setBotRenaming] = useState<Bot | null>(null);
  const [botDeleting, setBotDeleting] = useState<Bot | null>(null);
  const live = agency.status !== 'suspended';
  // The controls the person holds show; while someone views the studio as them, disabled.
  const lock = access.lock();
  const canDelete = live && access.shows('environments.create', agency.id);
  const bots = useLoad(
    () => getAll<Bot>(`/environments/${encodeURIComponent(env.id)}/bots`),
    [env.id],
  );
  const [inviting, setInviting] = useState(false);
  const here = useScopePermissions({ environmentId: env.id });
  const canInvite = live && here.shows('users.invite');
  const canSeeUsers = here.can('users.read');
  const canRename = canDelete || (live && here.shows('environment.manage'));
  const canDevelop = live && here.shows('bot.develop');
  return (
    <section class="page">
      <div class="page-head">
        <PageTitle text={env.name} />
        <div class="page-actions">
          {canSeeUsers ? (
            <Link
              class="button"
              href={`/agencies/${encodeURIComponent(agency.id)}/users?environment_id=${encodeURIComponent(env.id)}`}
            >
              Users
            </Link>
          ) : null}
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
      </div>
      {canRename || canDelete ? (
        <div class="place-actions" role="group" aria-label="Environment actions">
          {canRename ? (
            <button
              type="button"
              class="button button-small"
              {...lock}
              onClick={() => setDialog('rename')}
            >
              Rename environment
            </button>
          ) : null}
          {canDelete ? (
            <button
              type="button"
              class="button button-small button-danger"
              {...lock}
              onClick={() => setDialog('delete')}
            >
              Delete environment
            </button>
          ) : null}
        </div>
      ) : null}
      <h2>Bots</h2>
      {canDevelop ? (
        <CreateByName
          label="New bot name"
          button="Create bot"
          lock={lock}
          onCreate={async (name) => {
            const b = await post<Bot>(`/environments/${encodeURIComponent(env.id)}/bots`, { name });
            announce(`Bot ${b.name} created`);
            bots.reload();
          }}
        />
      ) : null}
      {bots.error ? <LoadProblem error={bots.error} what="The bot list" /> : null}
      {!bots.data ? (
        bots.error ? null : (
          <Loading what="Loading bots" />
        )
      ) : bots.data.length === 0 ? (
        <p class="muted">No bots in this environment.</p>
      ) : (
        <ul class="bot-list">
          {bots.data.map((b) => (
            <li key={b.id} class="bot-item">
              <Link href={`/bots/${encodeURIComponent(b.id)}`}>{b.name}</Link>
              {b.shared ? <Badge kind="shared">Shared</Badge> : null}
              <span class="muted small">Created {day(b.created_at)}</span>
              {canDevelop ? (
                <span class="card-actions">
                  <button
                    type="button"
                    class="button button-small"
                    aria-label={`Rename ${b.name}`}
                    {...lock}
                    onClick={() => setBotRenaming(b)}
                  >
                    Rename
                  </button>
                  <button
                    type="button"
                    class="button button-small button-danger"
                    aria-label={`Delete ${b.name}`}
                    {...lock}
                    onClick={() => setBotDeleting(b)}
                  >
                    Delete
                  </button>
                </span>
              ) : null}
            </li>
          ))}
        </ul>
      )}
      {canSeeUsers ? <WhoGetsNotified env={env} /> : null}
      {inviting ? <InviteDialog environmentId={env.id} onClose={() => setInviting(false)} /> : null}
      {dialog === 'rename' ? (
        <RenameDialog
          kind="environment"
          id={env.id}
          name={env.name}
          onClose={() => setDialog(null)}
          onRenamed={(name) => {
            onRenamed(name);
            reloadEnvironments();
          }}
        />
      ) : null}
      {dialog === 'delete' ? (
        <DeletePlaceDialog
          kind="environment"
          id={env.id}
          name={env.name}
          onClose={() => setDialog(null)}
          onDeleted={() => {
            reloadEnvironments();
            navigate(`/agencies/${encodeURIComponent(agency.id)}`);
          }}
        />
      ) : null}
      {botRenaming ? (
        <RenameDialog
          kind="bot"
          id={botRenaming.id}
          name={botRenaming.name}
          onClose={() => setBotRenaming(null)}
          onRenamed={bots.reload}
        />
      ) : null}
      {botDeleting ? (
        <DeletePlaceDialog
          kind="bot"
          id={botDeleting.id}
          name={botDeleting.name}
          onClose={() => setBotDeleting(null)}
          onDeleted={bots.reload}
        />
      ) : null}
    </section>
  );
}

export function EnvironmentScreen({ environmentId }: { environmentId: string }) {
  const env = useLoad(
    () => get<Environment>(`/environments/${encodeURIComponent(environmentId)}`),
    [environmentId],
  );
  if (env.error) return <LoadProblem error={env.error} what="This environment" />;
  if (!env.data) return <Loading />;
  return (
    <AgencyShell
      agencyId={env.data.agency_id}
      section="environments"
      crumbs={[{ label: env.data.name }]}
    >
      <EnvironmentBody env={env.data} onRenamed={(name) => env.set({ ...env.data!, name })} />
    </AgencyShell>
  );
}

// One environment: its bots (with the "Shared" badge of seed 001), creating bots, and inviting
// users straight into this environment (seed 000: Admin → Environment → Invite user).
import { useState } from 'preact/hooks';
import { get, post } from '../api';
import { AgencyShell, getAll, useAgency, useScopePermissions } from '../agency';
import { day } from '../format';
import { Link } from '../router';
import type { Bot, Environment } from '../types';
import { Badge, IconPlus, LoadProblem, Loading, PageTitle, announce, useLoad } from '../ui';
import { CreateByName } from './agencies';
import { InviteDialog } from './invite';

function EnvironmentBody({ env }: { env: Environment }) {
  const { agency } = useAgency();
  const bots = useLoad(() => getAll<Bot>(`/environments/${encodeURIComponent(env.id)}/bots`), [env.id]);
  const [inviting, setInviting] = useState(false);
  const here = useScopePermissions({ environmentId: env.id });
  const canInvite = here.has('users.invite');
  const canSeeUsers = here.has('users.read');
  return (
    <section class="page">
      <div class="page-head">
        <PageTitle text={env.name} />
        <div class="page-actions">
          {canSeeUsers ? (
            <Link class="button" href={`/agencies/${encodeURIComponent(agency.id)}/users?environment_id=${encodeURIComponent(env.id)}`}>
              Users
            </Link>
          ) : null}
          {canInvite ? (
            <button type="button" class="button button-primary" onClick={() => setInviting(true)}>
              <IconPlus /> Invite user
            </button>
          ) : null}
        </div>
      </div>
      <h2>Bots</h2>
      {here.has('bot.develop') ? (
        <CreateByName
          label="New bot name"
          button="Create bot"
          onCreate={async (name) => {
            const b = await post<Bot>(`/environments/${encodeURIComponent(env.id)}/bots`, { name });
            announce(`Bot ${b.name} created`);
            bots.reload();
          }}
        />
      ) : null}
      {bots.error ? <LoadProblem error={bots.error} what="The bot list" /> : null}
      {!bots.data ? (
        bots.error ? null : <Loading what="Loading bots" />
      ) : bots.data.length === 0 ? (
        <p class="muted">No bots in this environment.</p>
      ) : (
        <ul class="bot-list">
          {bots.data.map((b) => (
            <li key={b.id} class="bot-item">
              <Link href={`/bots/${encodeURIComponent(b.id)}`}>{b.name}</Link>
              {b.shared ? <Badge kind="shared">Shared</Badge> : null}
              <span class="muted small">Created {day(b.created_at)}</span>
            </li>
          ))}
        </ul>
      )}
      {inviting ? <InviteDialog environmentId={env.id} onClose={() => setInviting(false)} /> : null}
    </section>
  );
}

export function EnvironmentScreen({ environmentId }: { environmentId: string }) {
  const env = useLoad(() => get<Environment>(`/environments/${encodeURIComponent(environmentId)}`), [environmentId]);
  if (env.error) return <LoadProblem error={env.error} what="This environment" />;
  if (!env.data) return <Loading />;
  return (
    <AgencyShell agencyId={env.data.agency_id} section="environments" crumbs={[{ label: env.data.name }]}>
      <EnvironmentBody env={env.data} />
    </AgencyShell>
  );
}

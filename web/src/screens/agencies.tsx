// Agencies (platform admins create them) and one agency's environments.
import { useState } from 'preact/hooks';
import { get, post, withQuery } from '../api';
import { AgencyShell, useAgency } from '../agency';
import { day } from '../format';
import { Link, navigate } from '../router';
import { useSession } from '../session';
import type { Agency, Environment, Page } from '../types';
import { FormError, IconPlus, LoadProblem, Loading, PageTitle, TextField, announce, useLoad } from '../ui';
import { SecondFactorPolicy } from './agency_security';
import { InviteDialog } from './invite';

// A one-field form that creates something by name.
export function CreateByName({ label, button, onCreate }: { label: string; button: string; onCreate: (name: string) => Promise<void> }) {
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
      <TextField label={label} name="name" value={name} onValue={setName} required error={error} />
      <button type="submit" class="button button-primary" disabled={busy}>
        <IconPlus /> {button}
      </button>
      <FormError error={error} fields={['name']} />
    </form>
  );
}

export function Agencies() {
  const { me } = useSession();
  const [cursor, setCursor] = useState<string | null>(null);
  const [trail, setTrail] = useState<(string | null)[]>([]);
  const list = useLoad(() => get<Page<Agency>>(withQuery('/agencies', { limit: 50, cursor })), [cursor]);
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
        list.error ? null : <Loading />
      ) : list.data.items.length === 0 ? (
        <p class="muted">No agencies yet.</p>
      ) : (
        <ul class="cards cards-grid">
          {list.data.items.map((a) => (
            <li key={a.id} class="card">
              <h2 class="h3">
                <Link href={`/agencies/${encodeURIComponent(a.id)}`}>{a.name}</Link>
              </h2>
              <p class="muted small">Created {day(a.created_at)}</p>
            </li>
          ))}
        </ul>
      )}
      <Pager
        hasPrevious={trail.length > 0}
        next={list.data?.next_cursor || null}
        onPrevious={() => {
          setCursor(trail[trail.length - 1] ?? null);
          setTrail(trail.slice(0, -1));
        }}
        onNext={(c) => {
          setTrail([...trail, cursor]);
          setCursor(c);
        }}
      />
    </section>
  );
}

export function Pager(p: { hasPrevious: boolean; next: string | null; onPrevious: () => void; onNext: (c: string) => void }) {
  if (!p.hasPrevious && !p.next) return null;
  return (
    <nav class="pager" aria-label="Pages">
      <button type="button" class="button" disabled={!p.hasPrevious} onClick={p.onPrevious}>
        Previous page
      </button>
      <button type="button" class="button" disabled={!p.next} onClick={() => p.next && p.onNext(p.next)}>
        Next page
      </button>
    </nav>
  );
}

function EnvironmentList() {
  const { agency, environments, access, reloadEnvironments } = useAgency();
  const [inviting, setInviting] = useState(false);
  const canCreate = access.can('environments.create', agency.id);
  const canInvite = access.canAnywhere('users.invite', agency.id);
  return (
    <section class="page">
      <div class="page-head">
        <PageTitle text={agency.name} />
        {canInvite ? (
          <button type="button" class="button button-primary" onClick={() => setInviting(true)}>
            <IconPlus /> Invite user
          </button>
        ) : null}
      </div>
      <h2>Environments</h2>
      {canCreate ? (
        <CreateByName
          label="New environment name"
          button="Create environment"
          onCreate={async (name) => {
            const env = await post<Environment>(`/agencies/${encodeURIComponent(agency.id)}/environments`, { name });
            announce(`Environment ${env.name} created`);
            reloadEnvironments();
          }}
        />
      ) : null}
      {environments.length === 0 ? (
        <p class="muted">{canCreate ? 'No environments yet: create the first one above.' : 'You have no environment in this agency.'}</p>
      ) : (
        <ul class="cards cards-grid">
          {environments.map((env) => (
            <li key={env.id} class="card">
              <h3>
                <Link href={`/environments/${encodeURIComponent(env.id)}`}>{env.name}</Link>
              </h3>
              <p class="muted small">Created {day(env.created_at)}</p>
            </li>
          ))}
        </ul>
      )}
      <SecondFactorPolicy />
      {inviting ? <InviteDialog onClose={() => setInviting(false)} /> : null}
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

// One bot: its overview, and the Options tab where its owner delegates it to bot managers:
// invite by email, see who manages it and who is still invited (copy the link, send it again,
// revoke it), take access away; renaming and deleting the bot.
import { useRef, useState } from 'preact/hooks';
import { del, get, messageOf, post } from '../api';
import { AgencyShell, environmentName, useAgency, useScopePermissions } from '../agency';
import { day, fullName } from '../format';
import { Link, navigate } from '../router';
import { endToSend } from '../ceiling';
import type { Bot, BotManager, Grantable, Invitation } from '../types';
import {
  Badge,
  Confirm,
  Dialog,
  FormError,
  IconClipboard,
  IconTrash,
  LoadProblem,
  Loading,
  PageTitle,
  TextField,
  announce,
  copyText,
  fieldMessage,
  useFocusFirstError,
  useLoad,
} from '../ui';
import { UntilField, endRefused, pastCeilingRefusal, useHeldDay } from './until_field';
import { DeletePlaceDialog, RenameDialog } from './places';

interface Managers {
  items: BotManager[];
  pending_invitations: Invitation[];
  shared: boolean;
}

function Options({ bot, onShared }: { bot: Bot; onShared: (shared: boolean) => void }) {
  // While someone views the studio as the bot's owner, every control here is disabled.
  const { agency, access } = useAgency();
  const lock = access.lock();
  const path = `/bots/${encodeURIComponent(bot.id)}/managers`;
  const managers = useLoad(() => get<Managers>(path), [bot.id]);
  // When the signed-in person's own right to delegate this bot ends: what they give ends by
  // then (rule 4). Platform admins and those whose access does not end get null.
  const offer = useLoad(
    () =>
      get<Grantable>(
        `/agencies/${encodeURIComponent(agency.id)}/grantable?bot_id=${encodeURIComponent(bot.id)}`,
      ),
    [agency.id, bot.id],
  );
  const ceiling = offer.data?.until || null;
  const [until, setUntil] = useHeldDay(ceiling);
  const form = useRef<HTMLFormElement>(null);
  const [email, setEmail] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [removing, setRemoving] = useState<BotManager | null>(null);
  const [revoking, setRevoking] = useState<Invitation | null>(null);
  const [showLink, setShowLink] = useState<{ email: string; url: string } | null>(null);

  // The same actions as on the users screen: the current link for another channel, a new
  // link sent by email (older ones stop working), or the invitation withdrawn.
  async function copyLink(inv: Invitation) {
    try {
      const { url } = await get<{ url: string }>(`/invitations/${encodeURIComponent(inv.id)}/link`);
      if (await copyText(url)) announce(`Invitation link for ${inv.email} copied`);
      else setShowLink({ email: inv.email, url });
    } catch (e) {
      announce(messageOf(e), 'error');
    }
  }
  async function resend(inv: Invitation) {
    try {
      const r = await post<{ expires_at: string }>(
        `/invitations/${encodeURIComponent(inv.id)}/resend`,
      );
      announce(
        `Invitation sent again to ${inv.email}; the new link is valid until ${day(r.expires_at)}`,
      );
      managers.reload();
    } catch (e) {
      announce(messageOf(e), 'error');
    }
  }

  async function invite(e: Event) {
    e.preventDefault();
    const late = pastCeilingRefusal('expires_at', until, ceiling);
    if (late) {
      setError(late);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const body: Record<string, unknown> = { email: email.trim() };
      // The date is offered only under a ceiling: without one, the access does not end.
      const end = ceiling ? endToSend(until, ceiling) : null;
      if (end) body.expires_at = end;
      const inv = await post<Invitation>(path, body);
      announce(`Invitation sent to ${inv.email}`);
      setEmail('');
      managers.reload();
    } catch (err) {
      setError(err);
      // The giver's own access changed meanwhile: ask again, and the date takes up the new end.
      if (endRefused(err)) offer.reload();
    }
    setBusy(false);
  }
  useFocusFirstError(form, error);

  return (
    <section aria-labelledby="delegate-title" class="section">
      <h2 id="delegate-title">Delegate access to managers</h2>
      <p class="muted">
        A bot manager can build and configure this bot only. They get an email with a link, register
        with that address, and accept; then the bot shows the Shared badge.
      </p>
      <form class="inline-form" ref={form} onSubmit={invite} noValidate>
        <TextField
          label="Email of the new manager"
          name="email"
          type="email"
          value={email}
          onValue={setEmail}
          required
          error={error}
          disabled={lock.disabled}
        />
        {ceiling ? (
          <UntilField
            name="expires_at"
            value={until}
            ceiling={ceiling}
            error={fieldMessage(error, 'expires_at')}
            onValue={setUntil}
          />
        ) : null}
        <button type="submit" class="button button-primary" {...access.lock(busy)}>
          Send invitation
        </button>
        <FormError error={error} fields={ceiling ? ['email', 'expires_at'] : ['email']} />
      </form>
      {managers.error ? <LoadProblem error={managers.error} what="The manager list" /> : null}
      {!managers.data ? (
        managers.error ? null : (
          <Loading what="Loading managers" />
        )
      ) : (
        <>
          <h3>Managers</h3>
          {managers.data.items.length === 0 ? (
            <p class="muted">Nobody manages this bot yet.</p>
          ) : (
            <ul class="people">
              {managers.data.items.map((m) => (
                <li key={m.user_id}>
                  <span>
                    <strong>{fullName(m)}</strong> <span class="muted">{m.email}</span>
                  </span>
                  <button
                    type="button"
                    class="icon-button"
                    aria-label={`Remove ${fullName(m)} as manager`}
                    title="Remove manager"
                    {...lock}
                    onClick={() => setRemoving(m)}
                  >
                    <IconTrash />
                  </button>
                </li>
              ))}
            </ul>
          )}
          {managers.data.pending_invitations.length ? (
            <>
              <h3>Invited, not yet accepted</h3>
              <ul class="people">
                {managers.data.pending_invitations.map((inv) => (
                  <li key={inv.id}>
                    <span>
                      {inv.email} <span class="muted">· valid until {day(inv.expires_at)}</span>{' '}
                      <Badge>Invited</Badge>
                    </span>
                    <span class="card-actions">
                      <button
                        type="button"
                        class="icon-button"
                        aria-label={`Copy the invitation link for ${inv.email}`}
                        title="Copy invitation link"
                        {...lock}
                        onClick={() => copyLink(inv)}
                      >
                        <IconClipboard />
                      </button>
                      <button
                        type="button"
                        class="button button-small"
                        aria-label={`Resend the invitation to ${inv.email}`}
                        {...lock}
                        onClick={() => resend(inv)}
                      >
                        Resend
                      </button>
                      <button
                        type="button"
                        class="button button-small button-danger"
                        aria-label={`Revoke the invitation for ${inv.email}`}
                        {...lock}
                        onClick={() => setRevoking(inv)}
                      >
                        Revoke
                      </button>
                    </span>
                  </li>
                ))}
              </ul>
            </>
          ) : null}
        </>
      )}
      {revoking ? (
        <Confirm
          title="Revoke invitation"
          confirm="Revoke invitation"
          onClose={() => setRevoking(null)}
          onConfirm={async () => {
            await del(`/invitations/${encodeURIComponent(revoking.id)}`);
            announce(`The invitation for ${revoking.email} was revoked`);
            managers.reload();
          }}
        >
          <p>
            The link for <strong>{revoking.email}</strong> stops working at once: they will not
            manage <strong>{bot.name}</strong>. You can invite them again later.
          </p>
        </Confirm>
      ) : null}
      {showLink ? (
        <Dialog title="Copy the invitation link" onClose={() => setShowLink(null)}>
          <p>
            The clipboard is not available here. Select the link for {showLink.email} and copy it:
          </p>
          <input
            class="link-field"
            readOnly
            value={showLink.url}
            aria-label="Invitation link"
            onFocus={(e) => (e.currentTarget as HTMLInputElement).select()}
          />
        </Dialog>
      ) : null}
      {removing ? (
        <Confirm
          title="Remove bot manager"
          confirm="Remove manager"
          onClose={() => setRemoving(null)}
          onConfirm={async () => {
            await del(`${path}/${encodeURIComponent(removing.user_id)}`);
            announce(`${fullName(removing)} no longer manages ${bot.name}`);
            const fresh = await get<Managers>(path);
            managers.set(fresh);
            onShared(fresh.shared);
          }}
        >
          <p>
            {fullName(removing)} ({removing.email}) loses the Bot manager role on{' '}
            <strong>{bot.name}</strong> at once: they can no longer see, build or configure it. You
            can invite them again later.
          </p>
        </Confirm>
      ) : null}
    </section>
  );
}

function BotBody({
  bot,
  tab,
  onRenamed,
}: {
  bot: Bot;
  tab: 'overview' | 'options';
  onRenamed: (name: string) => void;
}) {
  const { environments, agency, access } = useAgency();
  const [shared, setShared] = useState(bot.shared);
  const [dialog, setDialog] = useState<'rename' | 'delete' | null>(null);
  // The controls the person holds show; while someone views the studio as them, disabled.
  const lock = access.lock();
  const here = useScopePermissions({ bot });
  const canDelegate = here.shows('bot.delegate');
  // Renaming and deleting a bot take what creating one takes: bot.develop in its environment.
  const develops = useScopePermissions({ environmentId: bot.environment_id }).shows('bot.develop');
  const canDevelop = develops && agency.status !== 'suspended';
  const base = `/bots/${encodeURIComponent(bot.id)}`;
  const showOptions = tab === 'options' && canDelegate;
  return (
    <section class="page">
      <div class="page-head">
        <PageTitle text={bot.name}>
          {bot.name} {shared ? <Badge kind="shared">Shared</Badge> : null}
        </PageTitle>
      </div>
      {canDevelop ? (
        <div class="place-actions" role="group" aria-label="Bot actions">
          <button
            type="button"
            class="button button-small"
            {...lock}
            onClick={() => setDialog('rename')}
          >
            Rename bot
          </button>
          <button
            type="button"
            class="button button-small button-danger"
            {...lock}
            onClick={() => setDialog('delete')}
          >
            Delete bot
          </button>
        </div>
      ) : null}
      {dialog === 'rename' ? (
        <RenameDialog
          kind="bot"
          id={bot.id}
          name={bot.name}
          onClose={() => setDialog(null)}
          onRenamed={onRenamed}
        />
      ) : null}
      {dialog === 'delete' ? (
        <DeletePlaceDialog
          kind="bot"
          id={bot.id}
          name={bot.name}
          onClose={() => setDialog(null)}
          onDeleted={() => navigate(`/environments/${encodeURIComponent(bot.environment_id)}`)}
        />
      ) : null}
      <nav class="tabs" aria-label="Bot">
        <Link href={base} aria-current={!showOptions ? 'page' : undefined}>
          Overview
        </Link>
        {canDelegate ? (
          <Link href={`${base}/options`} aria-current={showOptions ? 'page' : undefined}>
            Options
          </Link>
        ) : null}
      </nav>
      {showOptions ? (
        <Options bot={bot} onShared={setShared} />
      ) : (
        <dl class="facts">
          <dt>Environment</dt>
          <dd>
            <Link href={`/environments/${encodeURIComponent(bot.environment_id)}`}>
              {environmentName(environments, bot.environment_id)}
            </Link>
          </dd>
          <dt>Shared</dt>
          <dd>{shared ? 'Yes: bot managers work on it' : 'No'}</dd>
          <dt>Created</dt>
          <dd>{day(bot.created_at)}</dd>
        </dl>
      )}
    </section>
  );
}

export function BotScreen({ botId, tab }: { botId: string; tab: 'overview' | 'options' }) {
  const bot = useLoad(() => get<Bot>(`/bots/${encodeURIComponent(botId)}`), [botId]);
  if (bot.error) return <LoadProblem error={bot.error} what="This bot" />;
  if (!bot.data) return <Loading />;
  const b = bot.data;
  return (
    <AgencyShell
      agencyId={b.agency_id}
      section="environments"
      crumbs={[
        {
          href: `/environments/${encodeURIComponent(b.environment_id)}`,
          environmentId: b.environment_id,
        },
        { label: b.name },
      ]}
    >
      <BotBody bot={b} tab={tab} onRenamed={(name) => bot.set({ ...b, name })} />
    </AgencyShell>
  );
}

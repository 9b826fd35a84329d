// An agency's company sign-in (OpenID Connect connections), for its owners and those who may
// manage it: the list, the add and edit dialog (the client secret is write-only), the redirect
// URI to register at the company's login with a Copy button, "Test connection" with what the
// login offers or what is wrong, and deletion after a confirmation.
import { useRef, useState } from 'preact/hooks';
import { ApiError, del, get, messageOf, patch, post } from '../api';
import { AgencyShell, useAgency } from '../agency';
import { useSession } from '../session';
import { day, sentence } from '../format';
import type { OidcConnection, OidcTestResult, Page } from '../types';
import {
  Badge,
  Confirm,
  Dialog,
  FormError,
  IconClipboard,
  IconPlus,
  LoadProblem,
  Loading,
  PageTitle,
  TextField,
  announce,
  copyText,
  fieldMessage,
  useFocusFirstError,
  useId,
  useLoad,
  useSubmit,
} from '../ui';

// The ID-token algorithms usher accepts (a connection may narrow them); a new connection starts
// with all of them.
export const ALGORITHMS = ['RS256', 'PS256', 'ES256'];
export const DEFAULT_ALGORITHMS = ALGORITHMS;

// A refusal of the connection routes in words, kept at the field it names.
export function connectionError(e: unknown): unknown {
  if (!(e instanceof ApiError)) return e;
  const say = (text: string) => new ApiError(e.status, e.code, text, e.field, e.requestId);
  if (e.code === 'insecure_issuer')
    return say(
      'Use the https:// address of your identity provider: usher talks to identity providers over https only.',
    );
  if (e.code === 'domain_claimed')
    return say(
      'Another company sign-in already claims one of these domains, in this agency or another. A domain can lead to one login only.',
    );
  return e.status === 0 ? e : say(sentence(e.message));
}

// "acme.com, acme.co.uk" or one per line → ["acme.com", "acme.co.uk"].
export function domainsOf(text: string): string[] {
  return text
    .split(/[\s,;]+/)
    .map((d) => d.trim().toLowerCase())
    .filter(Boolean);
}

// A value to copy (the redirect URI): shown, with a Copy button that says when it worked.
export function CopyValue({ label, value }: { label: string; value: string }) {
  const [copied, setCopied] = useState(false);
  const fieldId = useId('copy');
  return (
    <div class="copy-value">
      <label for={fieldId} class="field-label">
        {label}
      </label>
      <div class="copy-row">
        <input
          id={fieldId}
          class="link-field"
          readOnly
          value={value}
          onFocus={(e) => (e.currentTarget as HTMLInputElement).select()}
        />
        <button
          type="button"
          class="button button-small"
          onClick={async () => {
            if (await copyText(value)) {
              setCopied(true);
              announce(`${label} copied`);
              setTimeout(() => setCopied(false), 4000);
            } else {
              document.getElementById(fieldId)?.focus();
              announce('Select the address and copy it', 'error');
            }
          }}
        >
          <IconClipboard /> {copied ? 'Copied' : 'Copy'}
        </button>
      </div>
    </div>
  );
}

interface EditProps {
  agencyId: string;
  connection: OidcConnection | null; // null: a new one
  redirectUri: string;
  onClose: () => void;
  onSaved: (c: OidcConnection) => void;
}

function ConnectionDialog({ agencyId, connection, redirectUri, onClose, onSaved }: EditProps) {
  const { agency } = useAgency();
  const { me } = useSession();
  const [name, setName] = useState(connection?.name || '');
  const [issuer, setIssuer] = useState(connection?.issuer || '');
  const [clientId, setClientId] = useState(connection?.client_id || '');
  const [secret, setSecret] = useState('');
  const [domains, setDomains] = useState((connection?.domains || []).join('\n'));
  const [algorithms, setAlgorithms] = useState<string[]>(
    connection?.algorithms || DEFAULT_ALGORITHMS,
  );
  const [required, setRequired] = useState(connection?.required || false);
  const domainsId = useId('domains');
  const algId = useId('algorithms');
  const requiredHint = useId('required-hint');
  const form = useRef<HTMLFormElement>(null);
  const base = `/agencies/${encodeURIComponent(agencyId)}/oidc-connections`;

  const { busy, error, submit } = useSubmit(async () => {
    if (!algorithms.length)
      throw new ApiError(
        400,
        'invalid_input',
        'Choose at least one algorithm.',
        'algorithms',
        null,
      );
    const body: Record<string, unknown> = {
      name: name.trim(),
      issuer: issuer.trim(),
      client_id: clientId.trim(),
      domains: domainsOf(domains),
      algorithms: ALGORITHMS.filter((a) => algorithms.includes(a)),
      required,
    };
    // Write-only: sent when typed, else the stored secret stays.
    if (secret) body.client_secret = secret;
    let saved: OidcConnection;
    try {
      saved = connection
        ? await patch<OidcConnection>(`${base}/${encodeURIComponent(connection.id)}`, body)
        : await post<OidcConnection>(base, body);
    } catch (e) {
      throw connectionError(e);
    }
    announce(connection ? `${saved.name} saved` : `${saved.name} added`);
    onSaved(saved);
    onClose();
  });
  useFocusFirstError(form, error);
  const domainsError = fieldMessage(error, 'domains');
  const algError = fieldMessage(error, 'algorithms');

  return (
    <Dialog
      title={connection ? `Edit ${connection.name}` : 'Add company sign-in'}
      onClose={onClose}
      wide
    >
      <form ref={form} onSubmit={submit} noValidate>
        <CopyValue label="Redirect URI" value={redirectUri} />
        <p class="hint copy-hint">
          Register this address at your company's login (the identity provider) for the application
          usher.
        </p>
        <TextField
          label="Name"
          name="name"
          value={name}
          onValue={setName}
          required
          error={error}
          hint={'Shown on the sign-in page: "Continue with …". For example Acme Okta.'}
        />
        <TextField
          label="Issuer URL"
          name="issuer"
          type="url"
          value={issuer}
          onValue={setIssuer}
          required
          autoComplete="off"
          error={error}
          hint="The address of your identity provider, starting with https://; usher reads its /.well-known/openid-configuration."
        />
        <div class="row-2">
          <TextField
            label="Client ID"
            name="client_id"
            value={clientId}
            onValue={setClientId}
            required
            autoComplete="off"
            error={error}
          />
          <TextField
            label="Client secret"
            name="client_secret"
            type="password"
            value={secret}
            onValue={setSecret}
            required={!connection}
            autoComplete="new-password"
            error={error}
            hint={
              connection
                ? 'Leave empty to keep the current secret. It is never shown again.'
                : 'Stored encrypted and never shown again.'
            }
          />
        </div>
        <div class={`field${domainsError ? ' field-invalid' : ''}`}>
          <label for={domainsId}>Email domains</label>
          <textarea
            id={domainsId}
            name="domains"
            rows={3}
            value={domains}
            required
            spellcheck={false}
            aria-invalid={domainsError ? 'true' : undefined}
            aria-describedby={`${domainsId}-hint${domainsError ? ` ${domainsId}-error` : ''}`}
            onInput={(e) => setDomains((e.currentTarget as HTMLTextAreaElement).value)}
          />
          <p class="hint" id={`${domainsId}-hint`}>
            Separated by commas or one per line, like acme.com. People whose address is in these
            domains are sent to this login when they sign in. Only domains your agency owns: no
            other connection may claim them.
          </p>
          {domainsError ? (
            <p class="field-error" id={`${domainsId}-error`}>
              {domainsError}
            </p>
          ) : null}
        </div>
        <fieldset
          class={`checks checks-compact${algError ? ' field-invalid' : ''}`}
          aria-describedby={`${algId}-hint${algError ? ` ${algId}-error` : ''}`}
        >
          <legend>ID token algorithms</legend>
          <p class="hint checks-hint" id={`${algId}-hint`}>
            The signatures usher accepts from this login. Keep all three unless your provider says
            otherwise.
          </p>
          {ALGORITHMS.map((a) => (
            <label key={a} class="check">
              <input
                type="checkbox"
                name="algorithms"
                value={a}
                checked={algorithms.includes(a)}
                onChange={(e) => {
                  const on = (e.currentTarget as HTMLInputElement).checked;
                  setAlgorithms(on ? [...algorithms, a] : algorithms.filter((x) => x !== a));
                }}
              />
              <span>{a}</span>
            </label>
          ))}
          {algError ? (
            <p class="field-error checks-hint" id={`${algId}-error`}>
              {algError}
            </p>
          ) : null}
        </fieldset>
        <div class="switch-row">
          <button
            type="button"
            role="switch"
            class="switch"
            aria-checked={required ? 'true' : 'false'}
            aria-describedby={requiredHint}
            onClick={() => setRequired(!required)}
          >
            <span class="switch-track" aria-hidden="true">
              <span class="switch-thumb" />
            </span>
            <span class="switch-label">Require this sign-in for members of {agency.name}</span>
          </button>
          <span class={`switch-state${required ? ' switch-state-on' : ''}`} aria-hidden="true">
            {required ? 'On' : 'Off'}
          </span>
        </div>
        <p class="hint" id={requiredHint}>
          {required
            ? `Members who signed in with a password cannot open ${agency.name} until they sign in through this login; their other agencies still work. Platform admins keep their password, so a broken login never locks everyone out.`
            : 'Members may also sign in with a password, if they have one.'}
        </p>
        {required &&
        !connection?.required &&
        me &&
        !me.is_platform_admin &&
        me.sign_in_method !== 'oidc' ? (
          <p class="note note-info">
            That includes you: you signed in with a password, so once this is saved you sign out and
            in again, through this login, to keep managing {agency.name}.
          </p>
        ) : null}
        <FormError
          error={error}
          fields={['name', 'issuer', 'client_id', 'client_secret', 'domains', 'algorithms']}
        />
        <div class="actions">
          <button type="button" class="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="button button-primary" disabled={busy}>
            {busy ? 'Saving…' : connection ? 'Save' : 'Add connection'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

// The answer of "Test connection", in words.
function TestOutcome({ result, name }: { result: OidcTestResult; name: string }) {
  return (
    <div
      class={`note ${result.ok ? 'note-ok' : 'note-error'} test-outcome`}
      role="status"
      tabIndex={-1}
    >
      <p>
        <strong>{result.ok ? `${name} works.` : `${name} has problems.`}</strong>
      </p>
      {result.problems.length ? (
        <ul class="problems">
          {result.problems.map((p, i) => (
            <li key={i}>{p}</li>
          ))}
        </ul>
      ) : null}
      {result.issuer || result.authorization_endpoint ? (
        <dl class="facts facts-small">
          {result.issuer ? (
            <>
              <dt>Issuer</dt>
              <dd>{result.issuer}</dd>
            </>
          ) : null}
          {result.authorization_endpoint ? (
            <>
              <dt>Sign-in address</dt>
              <dd>{result.authorization_endpoint}</dd>
            </>
          ) : null}
          {result.token_endpoint ? (
            <>
              <dt>Token address</dt>
              <dd>{result.token_endpoint}</dd>
            </>
          ) : null}
          <dt>Sign-out</dt>
          <dd>
            {result.end_session_endpoint ||
              'Not offered: signing out of usher leaves people signed in to the company login.'}
          </dd>
          {typeof result.keys === 'number' ? (
            <>
              <dt>Signing keys</dt>
              <dd>{result.keys}</dd>
            </>
          ) : null}
          {result.algorithms ? (
            <>
              <dt>Algorithms offered</dt>
              <dd>{result.algorithms.length ? result.algorithms.join(', ') : 'none named'}</dd>
            </>
          ) : null}
        </dl>
      ) : null}
    </div>
  );
}

function ConnectionCard({
  connection,
  onEdit,
  onDelete,
}: {
  connection: OidcConnection;
  onEdit: () => void;
  onDelete: () => void;
}) {
  const [testing, setTesting] = useState(false);
  const [result, setResult] = useState<OidcTestResult | null>(null);
  const [testError, setTestError] = useState<unknown>(null);
  const box = useRef<HTMLLIElement>(null);
  // While someone views the studio as a manager of the agency, their controls are disabled.
  const { access } = useAgency();
  const lock = access.lock();
  const titleId = `conn-${connection.id}`;
  const path = `/agencies/${encodeURIComponent(connection.agency_id)}/oidc-connections/${encodeURIComponent(connection.id)}`;

  async function test() {
    setTesting(true);
    setResult(null);
    setTestError(null);
    try {
      setResult(await post<OidcTestResult>(`${path}/test`));
    } catch (e) {
      setTestError(e);
    }
    setTesting(false);
    // The outcome takes the focus, so a screen reader reads it at once.
    setTimeout(
      () => box.current?.querySelector<HTMLElement>('.test-outcome, .note-error')?.focus(),
      0,
    );
  }

  return (
    <li class="card connection" aria-labelledby={titleId} ref={box}>
      <div class="connection-head">
        <h2 id={titleId} class="h3">
          {connection.name}
        </h2>
        {connection.required ? <Badge kind="info">Required</Badge> : <Badge>Optional</Badge>}
      </div>
      <dl class="facts">
        <dt>Issuer</dt>
        <dd>{connection.issuer}</dd>
        <dt>Client ID</dt>
        <dd>{connection.client_id}</dd>
        <dt>Email domains</dt>
        <dd>{connection.domains.join(', ') || <span class="muted">none</span>}</dd>
        <dt>Algorithms</dt>
        <dd>{connection.algorithms.join(', ')}</dd>
        <dt>Changed</dt>
        <dd>{day(connection.updated_at || connection.created_at)}</dd>
      </dl>
      <CopyValue label="Redirect URI" value={connection.redirect_uri} />
      <div class="actions actions-start">
        <button type="button" class="button" {...access.lock(testing)} onClick={test}>
          {testing ? 'Testing…' : 'Test connection'}
        </button>
        <button type="button" class="button" {...lock} onClick={onEdit}>
          Edit
        </button>
        <button
          type="button"
          class="button button-danger-quiet"
          {...lock}
          onClick={onDelete}
          aria-label={`Delete ${connection.name}`}
        >
          Delete
        </button>
      </div>
      {result ? <TestOutcome result={result} name={connection.name} /> : null}
      {testError ? (
        <p class="note note-error" role="alert" tabIndex={-1}>
          {messageOf(testError)}
        </p>
      ) : null}
    </li>
  );
}

function Connections() {
  const { agency, access } = useAgency();
  const base = `/agencies/${encodeURIComponent(agency.id)}/oidc-connections`;
  const list = useLoad(() => get<Page<OidcConnection>>(base), [base]);
  const [editing, setEditing] = useState<OidcConnection | 'new' | null>(null);
  const [deleting, setDeleting] = useState<OidcConnection | null>(null);
  const items = list.data?.items || [];
  // The same for every connection of the server; before the first one, this console's own.
  const redirectUri = items[0]?.redirect_uri || `${location.origin}/api/v1/oidc/callback`;

  return (
    <section class="page">
      <div class="page-head">
        <PageTitle text="Company sign-in" />
        {list.data && !list.error ? (
          <button
            type="button"
            class="button button-primary"
            {...access.lock()}
            onClick={() => setEditing('new')}
          >
            <IconPlus /> Add connection
          </button>
        ) : null}
      </div>
      <p class="muted intro">
        Let people of {agency.name} sign in with their company's login (OpenID Connect, such as
        Okta, Microsoft Entra ID or Google Workspace) instead of a password. Whoever signs in with
        an address in a connection's domains is sent there.
      </p>
      {list.error ? <LoadProblem error={list.error} what="Company sign-in" /> : null}
      {/* A refusal hides what an earlier answer showed (the list may have changed meanwhile). */}
      {!list.data || list.error ? (
        list.error ? null : (
          <Loading what="Loading the connections" />
        )
      ) : items.length === 0 ? (
        <p class="note note-info">
          No company sign-in yet. Add one with the client ID and secret your identity provider gave
          usher.
        </p>
      ) : (
        <ul class="cards">
          {items.map((c) => (
            <ConnectionCard
              key={c.id}
              connection={c}
              onEdit={() => setEditing(c)}
              onDelete={() => setDeleting(c)}
            />
          ))}
        </ul>
      )}
      {editing ? (
        <ConnectionDialog
          agencyId={agency.id}
          connection={editing === 'new' ? null : editing}
          redirectUri={redirectUri}
          onClose={() => setEditing(null)}
          onSaved={() => list.reload()}
        />
      ) : null}
      {deleting ? (
        <Confirm
          title={`Delete ${deleting.name}?`}
          confirm="Delete connection"
          onClose={() => setDeleting(null)}
          onConfirm={async () => {
            await del(`${base}/${encodeURIComponent(deleting.id)}`);
            announce(`${deleting.name} deleted`);
            list.reload();
          }}
        >
          <p>
            Nobody can sign in through <strong>{deleting.name}</strong> any more, and addresses in{' '}
            {deleting.domains.join(', ') || 'its domains'} sign in with a password again.
          </p>
          <p>
            People who used it keep their accounts and their access: they need a password (Forgot
            password?) to sign in.
          </p>
        </Confirm>
      ) : null}
    </section>
  );
}

export function AgencySignIn({ agencyId }: { agencyId: string }) {
  return (
    <AgencyShell agencyId={agencyId} section="signin">
      <Connections />
    </AgencyShell>
  );
}

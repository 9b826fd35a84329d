// The frame of every screen inside one agency: its name, its environments and roles (loaded
// once and shared), what the signed-in user may do there, and the agency's navigation.
import { ComponentChildren, createContext } from 'preact';
import { useContext, useMemo } from 'preact/hooks';
import type { Access, Scope } from './access';
import { get, withQuery } from './api';
import { Link } from './router';
import { useSession } from './session';
import type { Agency, Effective, Environment, Page, Role } from './types';
import { LoadProblem, Loading, useLoad } from './ui';

// Every page of a list, up to max pages of 200.
export async function getAll<T>(path: string, max = 10): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | null = null;
  for (let i = 0; i < max; i++) {
    const page: Page<T> = await get<Page<T>>(withQuery(path, { limit: 200, cursor }));
    out.push(...page.items);
    cursor = page.next_cursor;
    if (!cursor) break;
  }
  return out;
}

export interface AgencyData {
  agency: Agency;
  environments: Environment[];
  roles: Role[]; // the built-in roles and the agency's custom roles
  access: Access;
  reloadEnvironments: () => void;
  reloadRoles: () => void;
  // After a rename, a suspension, a resumption or a change of the agency's settings: the
  // agency as the server now answers it.
  setAgency: (a: Agency) => void;
}

const AgencyContext = createContext<AgencyData | null>(null);

export function useAgency(): AgencyData {
  const a = useContext(AgencyContext);
  if (!a) throw new Error('useAgency outside AgencyShell');
  return a;
}

// The agency's roles inside an agency's screens, none elsewhere (the control panel, a link).
export function useAgencyRoles(): Role[] {
  return useContext(AgencyContext)?.roles || [];
}

export function environmentName(envs: Environment[], id: string | undefined): string {
  if (!id) return 'Whole agency';
  return envs.find((e) => e.id === id)?.name || 'An environment you cannot see';
}

// What the signed-in user holds and may do at one environment or bot.
export interface ScopePermissions {
  // Whether the person holds permission here: the screen shows its controls.
  shows: (permission: string) => boolean;
  // Whether the control works now: the same, but the reading permissions only while someone
  // views the studio as this person.
  can: (permission: string) => boolean;
}

// What the signed-in user holds at one environment or bot: the server's own answer
// (GET /users/{me}/effective, which in a view-as session answers for the person viewed), and
// until it arrives, or where it cannot be had, what GET /me and the catalogue say.
export function useScopePermissions(scope: Scope): ScopePermissions {
  const { agency, access } = useAgency();
  const { me } = useSession();
  const query = scope.bot
    ? { bot_id: scope.bot.id }
    : scope.environmentId
      ? { environment_id: scope.environmentId }
      : { agency_id: agency.id };
  const key = JSON.stringify(query);
  const eff = useLoad(
    () =>
      me
        ? get<Effective>(withQuery(`/users/${encodeURIComponent(me.user.id)}/effective`, query))
        : Promise.reject(new Error('signed out')),
    [me?.user.id, key],
  );
  return useMemo(() => {
    const held = eff.data ? new Set(eff.data.permissions) : access.holds(agency.id, scope);
    const readOnly = access.readOnly;
    return {
      shows: (p: string) => held.has(p),
      can: (p: string) => held.has(p) && (!readOnly || p.endsWith('.read')),
    };
    // key stands for the scope asked about (query), which is a new object on every render.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [eff.data, access, agency.id, key]);
}

type Section = 'environments' | 'users' | 'roles' | 'tokens' | 'signin' | 'audit';

interface ShellProps {
  agencyId: string;
  section: Section;
  // Trail below the agency; environmentId shows that environment's name.
  crumbs?: { href?: string; label?: string; environmentId?: string }[];
  children: ComponentChildren;
}

export function AgencyShell({ agencyId, section, crumbs = [], children }: ShellProps) {
  const session = useSession();
  const agency = useLoad(
    () => get<Agency>(`/agencies/${encodeURIComponent(agencyId)}`),
    [agencyId],
  );
  const envs = useLoad(
    () => getAll<Environment>(`/agencies/${encodeURIComponent(agencyId)}/environments`),
    [agencyId],
  );
  const roles = useLoad(
    () => get<Page<Role>>(`/agencies/${encodeURIComponent(agencyId)}/roles`),
    [agencyId],
  );

  const custom = useMemo(() => (roles.data?.items || []).filter((r) => !r.built_in), [roles.data]);
  const access = useMemo(() => session.access(custom), [session, custom]);

  if (agency.error) return <LoadProblem error={agency.error} what="This agency" />;
  if (!agency.data || !envs.data || !roles.data || !access) {
    if (envs.error) return <LoadProblem error={envs.error} what="Environments" />;
    if (roles.error) return <LoadProblem error={roles.error} what="Roles" />;
    return <Loading what="Loading the agency" />;
  }
  const data: AgencyData = {
    agency: agency.data,
    environments: envs.data,
    roles: roles.data.items,
    access,
    reloadEnvironments: envs.reload,
    reloadRoles: roles.reload,
    setAgency: agency.set,
  };
  const suspended = agency.data.status === 'suspended';
  const base = `/agencies/${encodeURIComponent(agencyId)}`;
  // The sections the person holds, also while someone views the studio as them (their
  // screens then show the controls disabled).
  const may = (p: string) => access.showsAnywhere(p, agencyId);
  const items: { key: Section; href: string; label: string; show: boolean }[] = [
    { key: 'environments', href: base, label: 'Environments', show: true },
    { key: 'users', href: `${base}/users`, label: 'Users', show: may('users.read') },
    {
      key: 'roles',
      href: `${base}/roles`,
      label: 'Roles',
      show: may('users.read') || may('agency.manage'),
    },
    {
      key: 'tokens',
      href: `${base}/tokens`,
      label: 'API tokens',
      show: access.shows('agency.manage', agencyId),
    },
    // Only on a server with company sign-in: its agency answer lists the connections.
    {
      key: 'signin',
      href: `${base}/sign-in`,
      label: 'Company sign-in',
      show:
        access.shows('agency.manage', agencyId) && Array.isArray(agency.data.sign_in_connections),
    },
    { key: 'audit', href: `${base}/audit`, label: 'Audit log', show: may('audit.read') },
  ];
  return (
    <AgencyContext.Provider value={data}>
      <div class="agency">
        <nav class="agency-nav" aria-label="Agency">
          <p class="agency-name">{agency.data.name}</p>
          <ul>
            {items
              .filter((i) => i.show)
              .map((i) => (
                <li key={i.key}>
                  <Link href={i.href} aria-current={i.key === section ? 'page' : undefined}>
                    {i.label}
                  </Link>
                </li>
              ))}
          </ul>
        </nav>
        <div class="agency-main">
          {suspended ? (
            <div class="note note-warn banner-suspended" role="status">
              <strong>{agency.data.name} is suspended.</strong> Nobody in it can sign in to its
              screens and its API tokens are refused; nothing is deleted.{' '}
              {session.me?.is_platform_admin ? 'Resume it from the agency page.' : ''}
            </div>
          ) : null}
          {crumbs.length ? (
            <nav class="crumbs" aria-label="Breadcrumb">
              <ol>
                <li>
                  <Link href={base}>{agency.data.name}</Link>
                </li>
                {crumbs.map((c, i) => {
                  const label = c.environmentId
                    ? environmentName(envs.data!, c.environmentId)
                    : c.label || '';
                  return (
                    <li key={i}>
                      {c.href ? (
                        <Link href={c.href}>{label}</Link>
                      ) : (
                        <span aria-current="page">{label}</span>
                      )}
                    </li>
                  );
                })}
              </ol>
            </nav>
          ) : null}
          {children}
        </div>
      </div>
    </AgencyContext.Provider>
  );
}

// The signed-in user for every screen: GET /me (which also hands back the CSRF token after a
// reload), the role and permission catalogue, sign-in and sign-out.
import { ComponentChildren, createContext } from 'preact';
import { useCallback, useContext, useEffect, useMemo, useState } from 'preact/hooks';
import { Access } from './access';
import {
  ApiError,
  del,
  get,
  sessionSettled,
  setCsrfToken,
  setSecondFactorHandler,
  setUnauthenticatedHandler,
} from './api';
import { navigate } from './router';
import type { Me, Page, Permission, Role } from './types';

export interface Session {
  me: Me | null;
  status: 'loading' | 'signed-out' | 'ready' | 'error';
  error: string | null;
  builtInRoles: Role[];
  permissions: Permission[];
  // Access computed with the built-in roles plus the custom roles given.
  access: (custom?: Role[]) => Access | null;
  refresh: () => Promise<Me | null>;
  // After POST /sessions or accepting as a new user: remembers the CSRF token, loads /me.
  started: (answer: { csrf_token?: string }) => Promise<Me | null>;
  signOut: () => Promise<void>;
  // The server has already ended the session (the account was deleted): forgets it here and
  // shows the page at path, which must be one that needs no session.
  ended: (path: string) => void;
}

const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside SessionProvider');
  return s;
}

// Pages for people who are not signed in (yet): signing in, invitations, password recovery,
// the link that confirms a new email address, the page after deleting one's account, and the
// pages a company sign-in or sign-out comes back to. A 401 there does not send the visitor to
// sign in.
export const PUBLIC_PAGES = [
  '/signin',
  '/password-reset',
  '/email-change',
  '/account-deleted',
  '/sign-in/problem',
  '/signed-out',
];

export function isPublicPage(path: string): boolean {
  return path.startsWith('/invitations/accept') || PUBLIC_PAGES.includes(path);
}

// The path to come back to after signing in.
export function signInPath(): string {
  const here = location.pathname + location.search;
  return here === '/' || here.startsWith('/signin')
    ? '/signin'
    : `/signin?next=${encodeURIComponent(here)}`;
}

export function SessionProvider({ children }: { children: ComponentChildren }) {
  const [me, setMe] = useState<Me | null>(null);
  const [status, setStatus] = useState<Session['status']>('loading');
  const [error, setError] = useState<string | null>(null);
  const [builtInRoles, setRoles] = useState<Role[]>([]);
  const [permissions, setPermissions] = useState<Permission[]>([]);

  const refresh = useCallback(async (): Promise<Me | null> => {
    try {
      const m = await get<Me>('/me', { quietAuth: true });
      if (m.csrf_token) setCsrfToken(m.csrf_token);
      // Until the person sets up the two-step verification an agency requires, the server
      // answers nothing else: the console shows the enrolment page only.
      if (!m.second_factor_required) {
        const [roles, perms] = await Promise.all([
          get<Page<Role>>('/roles'),
          get<Page<Permission>>('/permissions'),
        ]);
        setRoles(roles.items);
        setPermissions(perms.items);
      }
      setMe(m);
      setError(null);
      setStatus('ready');
      return m;
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) {
        setCsrfToken(null);
        setMe(null);
        setStatus('signed-out');
        return null;
      }
      setError(e instanceof Error ? e.message : String(e));
      setStatus('error');
      return null;
    }
  }, []);

  useEffect(() => {
    setUnauthenticatedHandler(() => {
      setCsrfToken(null);
      setMe(null);
      setStatus('signed-out');
      if (!isPublicPage(location.pathname)) navigate(signInPath(), { replace: true });
    });
    // An agency may start requiring two-step verification while the person is signed in.
    setSecondFactorHandler(() => {
      refresh();
    });
    refresh().finally(sessionSettled);
  }, [refresh]);

  const started = useCallback(
    async (answer: { csrf_token?: string }) => {
      setCsrfToken(answer.csrf_token);
      return refresh();
    },
    [refresh],
  );

  const signOut = useCallback(async () => {
    let endSession: string | null = null;
    try {
      // A session made through a company login whose IdP can sign out too: the answer names
      // the IdP's end-session address, which comes back to /signed-out.
      const answer = await del<{ end_session_url?: string } | undefined>('/sessions/current');
      const url = answer?.end_session_url;
      if (url && /^https?:\/\//.test(url)) endSession = url;
    } catch {
      // The session may already be gone; signing out locally is what matters here.
    }
    setCsrfToken(null);
    setMe(null);
    setStatus('signed-out');
    if (endSession) window.location.assign(endSession);
    else navigate('/signin');
  }, []);

  const ended = useCallback((path: string) => {
    navigate(path, { replace: true });
    setCsrfToken(null);
    setMe(null);
    setStatus('signed-out');
  }, []);

  const access = useCallback(
    (custom: Role[] = []) =>
      me
        ? new Access(
            me,
            [...builtInRoles, ...custom],
            permissions.map((p) => p.name),
          )
        : null,
    [me, builtInRoles, permissions],
  );

  const value = useMemo<Session>(
    () => ({
      me,
      status,
      error,
      builtInRoles,
      permissions,
      access,
      refresh,
      started,
      signOut,
      ended,
    }),
    [me, status, error, builtInRoles, permissions, access, refresh, started, signOut, ended],
  );
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

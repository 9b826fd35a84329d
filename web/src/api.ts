// The client of usher's public API: JSON in and out under /api/v1, the session cookie sent by
// the browser, the CSRF token added to every unsafe request, and problem+json errors turned
// into ApiError with the field they name.
import { humanMessage } from './messages';

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly field: string | null;
  readonly requestId: string | null;
  // Seconds to wait before trying again (the Retry-After of a 429), else null.
  readonly retryAfter: number | null;
  // The whole problem body, for members beyond code, detail and field.
  readonly body: Record<string, unknown>;

  constructor(
    status: number,
    code: string,
    detail: string,
    field: string | null,
    requestId: string | null,
    retryAfter: number | null = null,
    body: Record<string, unknown> = {},
  ) {
    super(detail);
    this.status = status;
    this.code = code;
    this.field = field;
    this.requestId = requestId;
    this.retryAfter = retryAfter;
    this.body = body;
  }

  // The route itself does not exist on this server (an older usher): the router answers
  // 404 "no such resource", which no handler uses for a missing object, or 405 when the path
  // is known for other methods only.
  get isMissingRoute(): boolean {
    return (
      (this.status === 404 && this.code === 'not_found' && this.message === 'no such resource') ||
      (this.status === 405 && this.code === 'method_not_allowed')
    );
  }
}

let csrfToken: string | null = null;

// Unsafe requests wait until the first GET /me has answered: a page opened with a session
// cookie needs that answer's CSRF token before it may POST anything, even to a public route.
let markSettled: () => void = () => undefined;
const settled = new Promise<void>((resolve) => {
  markSettled = resolve;
});

export function sessionSettled(): void {
  markSettled();
}
let onUnauthenticated: (() => void) | null = null;
let onSecondFactorRequired: (() => void) | null = null;

// Remembers the session's CSRF token (from sign-in, accept, or GET /me after a reload).
export function setCsrfToken(token: string | null | undefined): void {
  csrfToken = token || null;
}

// Called when an API answer says the session is gone (401), except for sign-in itself.
export function setUnauthenticatedHandler(fn: () => void): void {
  onUnauthenticated = fn;
}

// Called when the server refuses a request until the person sets up two-step verification
// (an agency of theirs requires it), so the console can show the enrolment page.
export function setSecondFactorHandler(fn: () => void): void {
  onSecondFactorRequired = fn;
}

type Query = Record<string, string | number | null | undefined>;

export function withQuery(path: string, query: Query): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
  }
  const s = params.toString();
  if (!s) return path;
  return `${path}${path.includes('?') ? '&' : '?'}${s}`;
}

export async function api<T = unknown>(
  method: string,
  path: string,
  body?: unknown,
  opts: { quietAuth?: boolean; contentType?: string } = {},
): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  // A body with its own type (a CSV file) travels as it is; anything else as JSON.
  const raw = opts.contentType !== undefined && typeof body === 'string';
  if (body !== undefined) headers['Content-Type'] = raw ? opts.contentType! : 'application/json';
  const unsafe = !['GET', 'HEAD', 'OPTIONS'].includes(method);
  if (unsafe) await settled;
  if (unsafe && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  let res: Response;
  try {
    res = await fetch(`/api/v1${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : raw ? (body as string) : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(
      0,
      'network',
      'usher cannot be reached; check your connection and try again',
      null,
      null,
    );
  }
  if (res.status === 204) return undefined as T;
  const type = res.headers.get('Content-Type') || '';
  const data = type.includes('json') ? await res.json().catch(() => null) : null;
  if (res.ok) return data as T;
  const p = (data || {}) as { code?: string; detail?: string; field?: string; request_id?: string };
  const wait = Number.parseInt(res.headers.get('Retry-After') || '', 10);
  const err = new ApiError(
    res.status,
    p.code || 'error',
    p.detail || `the request failed (${res.status})`,
    p.field || null,
    p.request_id || null,
    Number.isFinite(wait) && wait >= 0 ? wait : null,
    data && typeof data === 'object' ? (data as Record<string, unknown>) : {},
  );
  if (res.status === 401 && !opts.quietAuth && onUnauthenticated) onUnauthenticated();
  if (res.status === 403 && err.code === 'second_factor_required' && onSecondFactorRequired)
    onSecondFactorRequired();
  return Promise.reject(err);
}

export const get = <T>(path: string, opts?: { quietAuth?: boolean }) =>
  api<T>('GET', path, undefined, opts);
export const post = <T>(path: string, body?: unknown, opts?: { quietAuth?: boolean }) =>
  api<T>('POST', path, body ?? {}, opts);
export const patch = <T>(path: string, body: unknown) => api<T>('PATCH', path, body);
export const put = <T>(path: string, body: unknown) => api<T>('PUT', path, body);
export const del = <T = void>(path: string, body?: unknown) => api<T>('DELETE', path, body);

// The methods this server answers at path (the Allow header of its 405 to OPTIONS), without
// authentication; an empty list when it has no such route. Lets a screen offer an action only
// when this server has it.
export async function allowedMethods(path: string): Promise<string[]> {
  try {
    const res = await fetch(`/api/v1${path}`, {
      method: 'OPTIONS',
      credentials: 'same-origin',
      cache: 'no-store',
    });
    const allow = res.headers.get('Allow') || '';
    await res.text(); // read to the end, so the request is over
    return allow
      .split(',')
      .map((m) => m.trim().toUpperCase())
      .filter(Boolean);
  } catch {
    return [];
  }
}

// The message of any error, for a status line: an API error in words for people.
export function messageOf(e: unknown): string {
  if (e instanceof ApiError) return humanMessage(e);
  if (e instanceof Error) return e.message;
  return String(e);
}

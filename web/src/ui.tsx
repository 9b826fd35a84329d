// The console's building blocks: icons, fields whose API errors appear beside them, dialogs,
// announcements, loading and "not available" states.
import { ComponentChildren, JSX } from 'preact';
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { ApiError, messageOf } from './api';
import { humanMessage } from './messages';
import { noticeRoomClear, noticeRoomMake, noticeRoomSet } from './notice_room';
import { useSession } from './session';

// --- icons (decorative: the button around each one carries the name) -----------------------

function Svg({ children }: { children: ComponentChildren }) {
  return (
    <svg
      class="icon"
      viewBox="0 0 24 24"
      width="20"
      height="20"
      aria-hidden="true"
      focusable="false"
    >
      {children}
    </svg>
  );
}

export const IconClipboard = () => (
  <Svg>
    <path d="M9 3h6a1 1 0 0 1 1 1v1h2a2 2 0 0 1 2 2v12a2 2 0 0 1-2 2H6a2 2 0 0 1-2-2V7a2 2 0 0 1 2-2h2V4a1 1 0 0 1 1-1zm1 2v2h4V5h-4zM6 7v12h12V7h-2v1a1 1 0 0 1-1 1H9a1 1 0 0 1-1-1V7H6z" />
  </Svg>
);

export const IconPersonArrow = () => (
  <Svg>
    <path d="M9 4a4 4 0 1 1 0 8 4 4 0 0 1 0-8zm0 2a2 2 0 1 0 0 4 2 2 0 0 0 0-4zm0 8c3.3 0 6 1.6 6 4v2H3v-2c0-2.4 2.7-4 6-4zm0 2c-2.2 0-3.8.9-4 2h8c-.2-1.1-1.8-2-4-2zm9.6-8.4L22 11l-3.4 3.4-1.4-1.4 1-1H15v-2h3.2l-1-1 1.4-1.4z" />
  </Svg>
);

export const IconTrash = () => (
  <Svg>
    <path d="M9 3h6l1 2h4v2H4V5h4l1-2zM6 8h12l-1 12a2 2 0 0 1-2 2H9a2 2 0 0 1-2-2L6 8zm2.1 2 .8 10h6.2l.8-10H8.1z" />
  </Svg>
);

export const IconPlus = () => (
  <Svg>
    <path d="M11 5h2v6h6v2h-6v6h-2v-6H5v-2h6z" />
  </Svg>
);

export const IconClose = () => (
  <Svg>
    <path d="M6.4 5 12 10.6 17.6 5 19 6.4 13.4 12l5.6 5.6-1.4 1.4-5.6-5.6L6.4 19 5 17.6 10.6 12 5 6.4z" />
  </Svg>
);

// --- loading data ------------------------------------------------------------------------------

export interface Loaded<T> {
  data: T | undefined;
  error: ApiError | null;
  loading: boolean;
  reload: () => void;
  set: (v: T) => void;
}

// Runs load when deps change; keeps the last answer while reloading.
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<ApiError | null>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setLoading(true);
    load().then(
      (v) => {
        if (!live) return;
        setData(v);
        setError(null);
        setLoading(false);
      },
      (e) => {
        if (!live) return;
        setError(e instanceof ApiError ? e : new ApiError(0, 'error', messageOf(e), null, null));
        setLoading(false);
      },
    );
    return () => {
      live = false;
    };
    // The caller names what load depends on (deps); load itself is new on every render.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, loading, reload, set: setData };
}

// --- page frame -------------------------------------------------------------------------------

// The page's heading; it names the document and takes the focus when the page changes, so a
// screen reader hears where a link led.
export function PageTitle({ children, text }: { children?: ComponentChildren; text: string }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${text} · usher`;
    ref.current?.focus({ preventScroll: true });
  }, [text]);
  return (
    <h1 ref={ref} tabIndex={-1}>
      {children ?? text}
    </h1>
  );
}

export function Loading({ what = 'Loading' }: { what?: string }) {
  return (
    <p class="muted" role="status">
      {what}…
    </p>
  );
}

// An error of a whole screen or section.
export function ErrorNote({ error }: { error: unknown }) {
  return (
    <p class="note note-error" role="alert">
      {messageOf(error)}
    </p>
  );
}

// A section whose API this server does not have yet.
export function NotAvailable({ what }: { what: string }) {
  return (
    <p class="note note-info" role="status">
      {what}: not available on this usher server yet.
    </p>
  );
}

// A section's load error: "not available" when the route is missing, else the message.
export function LoadProblem({ error, what }: { error: ApiError; what: string }) {
  if (error.code === 'sso_required') return <SsoRequired />;
  return error.isMissingRoute ? <NotAvailable what={what} /> : <ErrorNote error={error} />;
}

// The agency requires its company sign-in and this session was made with a password.
function SsoRequired() {
  const { signOut } = useSession();
  return (
    <div class="note note-info" role="alert">
      <p>
        This agency requires its company sign-in. Sign out, then sign in again: your email address
        leads you to your company login.
      </p>
      <button type="button" class="button button-small" onClick={signOut}>
        Sign out
      </button>
    </div>
  );
}

// --- forms ----------------------------------------------------------------------------------------

// The message of err when it names field (or an item inside it, like grants[0].roles[1]).
export function fieldMessage(err: unknown, field: string): string | null {
  if (!(err instanceof ApiError) || !err.field) return null;
  const f = err.field;
  return f === field || f.startsWith(`${field}[`) || f.startsWith(`${field}.`)
    ? humanMessage(err)
    : null;
}

// The error of a form that none of its fields shows.
export function FormError({ error, fields }: { error: unknown; fields: string[] }) {
  if (!error) return null;
  if (error instanceof ApiError && error.field && fields.some((f) => fieldMessage(error, f)))
    return null;
  return (
    <p class="note note-error" role="alert" tabIndex={-1}>
      {messageOf(error)}
    </p>
  );
}

export interface Submission {
  busy: boolean;
  error: unknown;
  submit: (e?: Event) => Promise<void>;
}

// The state of a form sent to the API: busy while it is on its way, the refusal when it fails.
export function useSubmit(send: () => Promise<void>): Submission {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const submit = async (e?: Event) => {
    e?.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await send();
    } catch (err) {
      setError(err);
    }
    setBusy(false);
  };
  return { busy, error, submit };
}

// Once per new error, moves the focus to the first field of the form it marks invalid, or
// else to the form's error note, and scrolls it to the middle of what is visible (inside a
// dialog too, below its sticky title), so a keyboard or screen reader user lands on what to put
// right and a sighted one sees it.
export function useFocusFirstError(form: { current: HTMLElement | null }, error: unknown): void {
  useEffect(() => {
    if (!error || !form.current) return;
    const target =
      form.current.querySelector<HTMLElement>(
        '[aria-invalid="true"], .field-invalid input:not([disabled]), .field-invalid select:not([disabled])',
      ) || form.current.querySelector<HTMLElement>('.note-error, .field-error');
    if (!target) return;
    if (!target.matches('input, select, textarea, button')) target.tabIndex = -1;
    target.focus({ preventScroll: true });
    (target.closest('.field') || target).scrollIntoView({ block: 'center', inline: 'nearest' });
  }, [error, form]);
}

// A field's refusal, under it; the field names id in its aria-describedby. Nothing when the
// field is not refused.
export function FieldError({ id, message }: { id: string; message: string | null | undefined }) {
  return message ? (
    <p class="field-error" id={id}>
      {message}
    </p>
  ) : null;
}

let nextId = 0;
export function useId(prefix: string): string {
  const ref = useRef<string>('');
  if (!ref.current) ref.current = `${prefix}-${++nextId}`;
  return ref.current;
}

interface TextFieldProps {
  label: string;
  name: string;
  value: string;
  onValue: (v: string) => void;
  error?: unknown;
  type?: string;
  required?: boolean;
  autoComplete?: string;
  hint?: string;
  readOnly?: boolean;
  disabled?: boolean;
  inputMode?: JSX.HTMLAttributes['inputMode'];
  minLength?: number;
  describedBy?: string; // the id of more text about the field (a strength meter)
}

export function TextField(p: TextFieldProps) {
  const id = useId(p.name);
  const msg = fieldMessage(p.error, p.name);
  const described = [p.hint ? `${id}-hint` : '', p.describedBy || '', msg ? `${id}-error` : '']
    .filter(Boolean)
    .join(' ');
  return (
    <div class={`field${msg ? ' field-invalid' : ''}`}>
      <label for={id}>
        {p.label}
        {p.required ? null : <span class="optional"> (optional)</span>}
      </label>
      <input
        id={id}
        name={p.name}
        type={p.type || 'text'}
        value={p.value}
        required={p.required}
        readOnly={p.readOnly}
        disabled={p.disabled}
        autoComplete={p.autoComplete}
        inputMode={p.inputMode}
        minLength={p.minLength}
        aria-invalid={msg ? 'true' : undefined}
        aria-describedby={described || undefined}
        onInput={(e) => p.onValue((e.currentTarget as HTMLInputElement).value)}
      />
      {p.hint ? (
        <p class="hint" id={`${id}-hint`}>
          {p.hint}
        </p>
      ) : null}
      <FieldError id={`${id}-error`} message={msg} />
    </div>
  );
}

// --- dialogs --------------------------------------------------------------------------------------

interface DialogProps {
  title: string;
  onClose: () => void;
  children: ComponentChildren;
  wide?: boolean;
}

// A modal dialog (the native <dialog>: focus stays inside, Escape closes it); the focus goes
// back where it was when it closes.
export function Dialog({ title, onClose, children, wide }: DialogProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId('dialog-title');
  useEffect(() => {
    const before = document.activeElement as HTMLElement | null;
    const d = ref.current;
    if (d && !d.open) d.showModal();
    return () => {
      if (before && document.contains(before)) before.focus();
    };
  }, []);
  return (
    <dialog
      ref={ref}
      class={`dialog${wide ? ' dialog-wide' : ''}`}
      aria-labelledby={titleId}
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
    >
      <div class="dialog-head">
        <h2 id={titleId}>{title}</h2>
        <button
          type="button"
          class="icon-button"
          aria-label="Close"
          title="Close"
          onClick={onClose}
        >
          <IconClose />
        </button>
      </div>
      <div class="dialog-body">{children}</div>
    </dialog>
  );
}

interface ConfirmProps {
  title: string;
  children: ComponentChildren;
  confirm: string;
  onConfirm: () => Promise<void>;
  onClose: () => void;
  danger?: boolean;
}

// Asks before a change that cannot be undone; the API's refusal appears inside, with the focus.
export function Confirm({
  title,
  children,
  confirm,
  onConfirm,
  onClose,
  danger = true,
}: ConfirmProps) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const body = useRef<HTMLDivElement>(null);
  // The confirm button is disabled while the request runs: a refusal takes the focus back.
  useFocusFirstError(body, error);
  async function go() {
    setBusy(true);
    setError(null);
    try {
      await onConfirm();
      onClose();
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  }
  return (
    <Dialog title={title} onClose={onClose}>
      <div ref={body}>
        <div class="confirm-text">{children}</div>
        <FormError error={error} fields={[]} />
      </div>
      <div class="actions">
        <button type="button" class="button" onClick={onClose}>
          Cancel
        </button>
        <button
          type="button"
          class={`button ${danger ? 'button-danger' : 'button-primary'}`}
          disabled={busy}
          onClick={go}
        >
          {busy ? 'Working…' : confirm}
        </button>
      </div>
    </Dialog>
  );
}

// --- announcements ------------------------------------------------------------------------------

interface Toast {
  id: number;
  text: string;
  kind: 'ok' | 'error';
}
let toasts: Toast[] = [];
const toastListeners = new Set<(t: Toast[]) => void>();
const TOAST_MS = 5000;

function toastsSet(next: Toast[]): void {
  toasts = next;
  for (const l of toastListeners) l(toasts);
}

const toastTimers = new Map<number, ReturnType<typeof setTimeout>>();

// Takes a notice away (its close button, or its time is up).
export function dismiss(id: number): void {
  clearTimeout(toastTimers.get(id));
  toastTimers.delete(id);
  toastsSet(toasts.filter((x) => x.id !== id));
}

// Starts (again) the notice's 5 seconds, or holds them while the pointer or the focus is on it.
function toastTimer(id: number, run: boolean): void {
  clearTimeout(toastTimers.get(id));
  toastTimers.delete(id);
  if (run && toasts.some((x) => x.id === id))
    toastTimers.set(
      id,
      setTimeout(() => dismiss(id), TOAST_MS),
    );
}

// Shows a short notice for 5 seconds (held while pointed at or focused) and reads it to screen
// readers. It is fixed at the bottom of the window, so it is in sight however far the page is
// scrolled: across the bottom on a phone, in the bottom-right corner on a wider screen. When it
// appears the page makes room for it (notice_room.ts), so it covers no control in view. A newer
// notice replaces the one shown: they never pile up.
export function announce(text: string, kind: 'ok' | 'error' = 'ok'): void {
  for (const t of toasts) toastTimer(t.id, false);
  const t = { id: ++nextId, text, kind };
  toastsSet([t]);
  toastTimer(t.id, true);
}

// What moves the page on the person's behalf: once they scroll, press a key or click, only the
// control in use is kept clear of the notice, and the page stays where they put it.
const PERSON_MOVES = ['wheel', 'touchmove', 'keydown', 'pointerdown'];

export function Toasts() {
  const [list, setList] = useState<Toast[]>(toasts);
  const region = useRef<HTMLDivElement>(null);
  useEffect(() => {
    toastListeners.add(setList);
    return () => {
      toastListeners.delete(setList);
    };
  }, []);
  const shown = list[0]?.id;
  // While a notice shows: room for it at the page's end, and no control under it when it
  // appears, when the page below changes size (a list reloads) or when the focus moves (a
  // dialog closes and gives it back).
  useLayoutEffect(() => {
    const notice = region.current;
    if (!shown || !notice) return;
    let moved = false;
    let frame = 0;
    const settle = () => {
      frame = 0;
      noticeRoomSet(notice);
      noticeRoomMake(notice, moved);
    };
    const later = () => {
      if (!frame) frame = requestAnimationFrame(settle);
    };
    const personMoved = () => {
      moved = true;
    };
    settle();
    const observer = new ResizeObserver(later);
    observer.observe(document.body);
    observer.observe(notice);
    for (const e of PERSON_MOVES) window.addEventListener(e, personMoved, true);
    window.addEventListener('focusin', later);
    return () => {
      observer.disconnect();
      cancelAnimationFrame(frame);
      for (const e of PERSON_MOVES) window.removeEventListener(e, personMoved, true);
      window.removeEventListener('focusin', later);
      noticeRoomClear();
    };
  }, [shown]);
  return (
    <div class="toasts" role="status" aria-live="polite" ref={region}>
      {list.map((t) => (
        <div
          key={t.id}
          class={`toast toast-${t.kind}`}
          onMouseEnter={() => toastTimer(t.id, false)}
          onMouseLeave={() => toastTimer(t.id, true)}
          onFocusIn={() => toastTimer(t.id, false)}
          onFocusOut={() => toastTimer(t.id, true)}
        >
          <p class="toast-text">{t.text}</p>
          <button
            type="button"
            class="toast-close"
            aria-label="Dismiss"
            title="Dismiss"
            onClick={() => dismiss(t.id)}
          >
            <IconClose />
          </button>
        </div>
      ))}
    </div>
  );
}

export function Badge({
  children,
  kind = 'neutral',
}: {
  children: ComponentChildren;
  kind?: string;
}) {
  return <span class={`badge badge-${kind}`}>{children}</span>;
}

// Copies text; falls back to showing it selected when the clipboard is not available.
export async function copyText(text: string): Promise<boolean> {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // Permission refused: the caller shows the text instead.
  }
  return false;
}

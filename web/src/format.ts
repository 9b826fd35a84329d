// Words and dates as people read them.

const ROLE_WORDS: Record<string, string> = {
  agent: 'Agent',
  operator: 'Operator',
  content_manager: 'Content manager',
  analyst: 'Analyst',
  producer: 'Producer',
  developer: 'Developer',
  environment_manager: 'Environment manager',
  organisation_manager: 'Organisation manager',
  owner: 'Owner',
  bot_manager: 'Bot manager',
};

export function roleLabel(name: string): string {
  return ROLE_WORDS[name] || name;
}

// A sentence from the API's words: capital first letter, full stop.
export function sentence(s: string): string {
  const t = s.trim();
  if (!t) return t;
  const c = t[0].toUpperCase() + t.slice(1);
  return /[.!?]$/.test(c) ? c : `${c}.`;
}

export function fullName(p: { first_name?: string | null; last_name?: string | null; email?: string }): string {
  const n = [p.first_name, p.last_name].filter(Boolean).join(' ');
  return n || p.email || '';
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const dateOnly = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });

export function when(iso: string | null | undefined, empty = 'never'): string {
  if (!iso) return empty;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : dateTime.format(d);
}

export function day(iso: string | null | undefined, empty = '—'): string {
  if (!iso) return empty;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : dateOnly.format(d);
}

export function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

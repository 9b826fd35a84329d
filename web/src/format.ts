// Words and dates as people read them.
import type { Role } from './types';

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

// The id grants use for a role: a built-in role's name, a custom role's id.
export function roleId(r: Role): string {
  return r.built_in ? r.name : r.id || r.name;
}

// A role id as people read it: the words of a built-in role, the display name of one of the
// agency's custom roles, else the id in words ("night_shift" → "Night shift").
export function roleName(id: string, roles: Role[] = []): string {
  if (ROLE_WORDS[id]) return ROLE_WORDS[id];
  const custom = roles.find((r) => !r.built_in && r.id === id);
  if (custom) return custom.name;
  const words = id.replace(/_+/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

// The id made from a custom role's name, as the server makes it when none is given: ASCII
// letters lower-cased, digits kept, other runs one '_', at most 40 characters; '' when the name
// holds anything past ASCII or gives no id that starts with a letter.
export function roleIdFromName(name: string): string {
  if (/[^\p{ASCII}]/u.test(name)) return '';
  let id = '';
  for (const word of name
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean)) {
    const next = id ? `${id}_${word}` : word;
    if (next.length > 40) {
      id = (id ? `${id}_` : '') + word;
      id = id.slice(0, 40).replace(/_+$/, '');
      break;
    }
    id = next;
  }
  return /^[a-z][a-z0-9_]{1,39}$/.test(id) && !ROLE_WORDS[id] ? id : '';
}

export function fullName(p: {
  first_name?: string | null;
  last_name?: string | null;
  email?: string;
}): string {
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

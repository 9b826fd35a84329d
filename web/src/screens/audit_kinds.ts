// What the audit log's action codes mean to people: the kinds offered by the filter, and each
// entry put as a sentence ("Mia Jansen invited olaf@acme.example as Operator to Acme –
// production") from the names the server recorded at the time.
import type { AuditEntry, Environment, Role } from '../types';
import { roleName } from '../format';

// A request made while viewing as someone.
export interface RequestView {
  id: string;
  at: string;
  method?: string;
  route?: string;
}

// An entry as GET …/audit gives it: the people and place it names, with their names then.
export interface AuditRow extends AuditEntry {
  actor_name?: string | null;
  actor_email?: string | null;
  subject_name?: string | null;
  subject_email?: string | null;
  impersonator_name?: string | null;
  impersonator_email?: string | null;
  actor_deleted?: boolean;
  subject_deleted?: boolean;
  impersonator_deleted?: boolean;
  scope: { type: string; id: string | null; name?: string | null } | null;
  // With group=impersonation: the requests made during a "view as" session, under its start.
  requests?: { count: number; items: RequestView[] };
}

// One choice of the kind filter: the server's action filter (names, or prefixes with '*').
export interface Kind {
  value: string;
  label: string;
}

export interface KindGroup {
  label: string;
  kinds: Kind[];
}

export const KIND_GROUPS: KindGroup[] = [
  {
    label: 'Invitations',
    kinds: [
      { value: 'invitation.*', label: 'Any invitation event' },
      { value: 'invitation.created', label: 'Invited someone' },
      { value: 'invitation.accepted', label: 'Accepted an invitation' },
      { value: 'invitation.declined', label: 'Declined an invitation' },
      { value: 'invitation.resent', label: 'Sent an invitation again' },
      { value: 'invitation.revoked', label: 'Revoked an invitation' },
    ],
  },
  {
    label: 'People',
    kinds: [
      { value: 'member.*,bot.manager_removed', label: 'Any change to people' },
      { value: 'member.grants_replaced', label: 'Changed what someone can do' },
      { value: 'member.updated', label: 'Changed a name or shortcode' },
      {
        value: 'member.removed,member.removed_from_environment,bot.manager_removed',
        label: 'Removed someone',
      },
    ],
  },
  {
    label: 'Places',
    kinds: [
      {
        value: 'agency.*,environment.*,bot.created,bot.renamed,bot.deleted',
        label: 'Any change to places',
      },
      { value: 'agency.created,environment.created,bot.created', label: 'Created a place' },
      { value: 'agency.renamed,environment.renamed,bot.renamed', label: 'Renamed a place' },
      { value: 'agency.deleted,environment.deleted,bot.deleted', label: 'Deleted a place' },
      { value: 'agency.suspended,agency.resumed', label: 'Suspended or resumed the agency' },
      { value: 'agency.updated', label: 'Changed the agency’s settings' },
    ],
  },
  {
    label: 'Roles and tokens',
    kinds: [
      { value: 'role.*', label: 'Created, changed or deleted a role' },
      { value: 'token.*', label: 'Created or revoked an API token' },
    ],
  },
  {
    label: 'Viewing as someone',
    kinds: [{ value: 'impersonation.*', label: 'Viewed the studio as someone' }],
  },
  {
    label: 'Signing in',
    kinds: [{ value: 'user.sign_in_failed', label: 'Refused a company sign-in' }],
  },
];

// Why a company sign-in was refused, said of someone else (the entry's reason).
const SIGN_IN_REFUSALS: Record<string, string> = {
  no_account: 'no usher account has that address',
  email_unverified: 'the company login did not confirm the address',
  domain_not_claimed: 'the address is outside the domains of this sign-in',
  state_invalid: 'the sign-in took too long or was started in another browser',
  idp_error: 'the company login answered with an error',
  idp_unreachable: 'the company login could not be reached',
  token_invalid: 'the company login’s answer failed its checks',
  identity_not_linked_here: 'the company login is not linked to the account through this sign-in',
  invitation_invalid: 'the invitation could no longer be used',
  invitation_subject_mismatch: 'the invitation is tied to another company login',
  account_disabled: 'the account is disabled',
  link_conflict: 'the company login is already linked to another account',
  account_exists_sign_in_first: 'the address has an account, which must sign in first to link it',
};

export function kindLabel(value: string): string | null {
  for (const g of KIND_GROUPS) for (const k of g.kinds) if (k.value === value) return k.label;
  return null;
}

// A piece of a sentence: words, a person, or a place (shown in bold).
export type Part = string | { person: string; deleted: boolean } | { place: string };

export interface SentenceContext {
  environments: Environment[];
  roles: Role[];
  bots?: Record<string, { name: string }>; // the names of bots the entries name, when known
}

type Role3 = 'actor' | 'subject' | 'impersonator';

function person(e: AuditRow, role: Role3): Part {
  const name = e[`${role}_name`];
  const email = e[`${role}_email`];
  const deleted = Boolean(e[`${role}_deleted`]);
  if (name) return { person: name, deleted: false };
  if (email) return { person: email, deleted: false };
  if (deleted) return { person: 'a deleted user', deleted: true };
  const ids = { actor: e.actor_id, subject: e.subject_user_id, impersonator: e.impersonator_id };
  const id = ids[role];
  return { person: id ? 'someone' : 'usher', deleted: false };
}

function text(v: unknown): string | null {
  return typeof v === 'string' && v ? v : null;
}

function scopePlace(e: AuditRow): Part {
  const name = e.scope?.name;
  if (name) return { place: name };
  if (e.scope?.type === 'agency') return 'the agency';
  const kind = e.scope?.type || 'place';
  return `${kind === 'environment' ? 'an' : 'a'} ${kind} since deleted`;
}

function list(items: string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

interface GrantJson {
  environment_id?: string;
  bot_id?: string;
  roles?: string[];
  extra_permissions?: string[];
}

// "Operator to Acme – production and Agent to the whole agency"; a bot by its name when the
// screen has it (ctx.bots, or the entry's own place).
function grantsText(grants: unknown, ctx: SentenceContext, e: AuditRow): string {
  if (!Array.isArray(grants) || grants.length === 0) return 'nothing';
  const parts = (grants as GrantJson[]).map((g) => {
    const roles = (g.roles || []).map((r) => roleName(r, ctx.roles));
    const extraCount = g.extra_permissions?.length || 0;
    const extras = extraCount ? [`${extraCount} extra permissions`] : [];
    const what = list([...roles, ...extras]) || 'nothing';
    if (g.environment_id) {
      const env = ctx.environments.find((x) => x.id === g.environment_id);
      return `${what} to ${env ? env.name : 'an environment since deleted'}`;
    }
    if (g.bot_id) {
      const bot =
        ctx.bots?.[g.bot_id]?.name ||
        (e.scope?.type === 'bot' && e.scope.id === g.bot_id ? e.scope.name : null);
      return `${what} on ${bot || 'a bot'}`;
    }
    return `${what} to the whole agency`;
  });
  return list(parts);
}

const REASONS: Record<string, string> = {
  exit: '',
  right_lost: ': the right to view as them was lost',
};

// The entry as a sentence, without its time.
export function sentenceOf(e: AuditRow, ctx: SentenceContext): Part[] {
  const d = e.details || {};
  const a = person(e, 'actor');
  const s = person(e, 'subject');
  const invitee: Part = { person: text(d.email) || 'someone', deleted: false };
  const name = text(d.name);
  const place: Part = name ? { place: name } : scopePlace(e);
  switch (e.action) {
    case 'agency.created':
      return [a, ' created the agency ', place];
    case 'environment.created':
      return [a, ' created the environment ', place];
    case 'bot.created':
      return [a, ' created the bot ', place];
    case 'agency.renamed':
    case 'environment.renamed':
    case 'bot.renamed':
      return [
        a,
        ` renamed the ${e.action.split('.')[0]} `,
        { place: text(d.old_name) || '?' },
        ' to ',
        { place: name || '?' },
      ];
    case 'agency.deleted':
    case 'environment.deleted':
    case 'bot.deleted':
      return [a, ` deleted the ${e.action.split('.')[0]} `, place];
    case 'agency.suspended':
      return [a, ' suspended ', scopePlace(e)];
    case 'agency.resumed':
      return [a, ' resumed ', scopePlace(e)];
    case 'agency.updated':
      if (typeof d.require_second_factor === 'boolean')
        return [
          a,
          d.require_second_factor
            ? ' required a second sign-in step for everyone in '
            : ' stopped requiring a second sign-in step in ',
          scopePlace(e),
        ];
      return [a, ' changed the settings of ', scopePlace(e)];
    case 'invitation.created':
      return [a, ' invited ', invitee, ` as ${grantsText(d.grants, ctx, e)}`];
    case 'invitation.resent':
      return [a, ' sent the invitation to ', invitee, ' again'];
    case 'invitation.revoked':
      return [a, ' revoked the invitation to ', invitee];
    case 'invitation.accepted':
      return [a, ` accepted the invitation and joined as ${grantsText(d.grants, ctx, e)}`];
    case 'invitation.declined':
      return [invitee, ' declined the invitation'];
    case 'member.grants_replaced':
      return [a, ' changed what ', s, ` can do: now ${grantsText(d.grants, ctx, e)}`];
    case 'member.updated': {
      const renamed = d.first_name !== undefined || d.last_name !== undefined;
      const code = text(d.shortcode);
      if (code && renamed)
        return [a, ' changed the name of ', s, ` and set their shortcode to ${code}`];
      if (code) return [a, ' set the shortcode of ', s, ` to ${code}`];
      return [a, renamed ? ' changed the name of ' : ' changed the details of ', s];
    }
    case 'member.removed':
      if (d.reason === 'account_erased') return [s, ' left the agency: their account was erased'];
      if (d.left === true) return [s, ' left the agency'];
      return [a, ' removed ', s, ' from the agency'];
    case 'member.removed_from_environment':
      return [a, ' removed ', s, ' from ', scopePlace(e)];
    case 'bot.manager_removed':
      return [a, ' removed ', s, ' as a manager of the bot ', scopePlace(e)];
    case 'role.created':
      return [a, ' created the role ', { place: name || '?' }];
    case 'role.updated':
      return [a, ' changed the role ', { place: name || text(d.role_id) || '?' }];
    case 'role.deleted':
      return [a, ' deleted the role ', { place: name || '?' }];
    case 'token.created':
      return [a, ' created the API token ', { place: name || '?' }];
    case 'token.revoked':
      return [a, ' revoked the API token ', { place: name || '?' }];
    case 'impersonation.started':
      return [a, ' viewed the studio as ', s];
    case 'impersonation.ended':
      return [a, ' stopped viewing as ', s, REASONS[String(d.reason)] ?? ''];
    case 'impersonation.request':
      return [person(e, 'impersonator'), ` opened ${text(d.route) || 'a page'} as `, a];
    case 'user.sign_in_failed': {
      // The person is named only when they are a member here; otherwise only their domain.
      const domain = text(d.email_domain);
      const who: Part = e.subject_user_id ? s : domain ? `Someone at ${domain}` : 'Someone';
      const reason = String(d.reason || '');
      const why = SIGN_IN_REFUSALS[reason] ?? reason.replace(/_/g, ' ');
      return [who, ` was refused a company sign-in${why ? `: ${why}` : ''}`];
    }
    case 'audit.pruned':
      return ['Entries older than the retention period were removed from the log'];
    default: {
      const words = e.action.replace(/[._]/g, ' ');
      return e.subject_user_id ? [a, `: ${words}, for `, s] : [a, `: ${words}`];
    }
  }
}

// The sentence as plain text (for tests of the catalogue and for titles).
export function sentenceText(parts: Part[]): string {
  const words = (p: Part) => (typeof p === 'string' ? p : 'person' in p ? p.person : p.place);
  const t = parts.map(words).join('');
  return t.charAt(0).toUpperCase() + t.slice(1);
}

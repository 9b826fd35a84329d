// The server's refusals in words for people. The API answers a code, the field it is about and
// a detail written for developers ("password must be at least 8 bytes"); the console shows a
// sentence chosen by code and field ("Passwords have at least 8 characters."), and only when
// it knows neither, the detail tidied into a sentence with the field's name in words.
import type { ApiError } from './api';
import { outlastSentence } from './ceiling';

// The fields of the console's forms as people call them.
const FIELD_WORDS: Record<string, string> = {
  email: 'Email address',
  password: 'Password',
  new_password: 'New password',
  current_password: 'Current password',
  first_name: 'First name',
  last_name: 'Last name',
  shortcode: 'Shortcode',
  name: 'Name',
  grants: 'Access',
  roles: 'Roles',
  extra_permissions: 'Extra permissions',
  environment_id: 'Environment',
  bot_id: 'Bot',
  expires_in_seconds: 'Link validity',
  expires_at: 'End date',
  token: 'Link',
  id: 'Identifier',
  code: 'Code',
  recovery_code: 'Recovery code',
};

// A field's name in words: "grants[0].roles" → "Roles", "first_name" → "First name".
export function fieldWords(field: string | null): string {
  if (!field) return 'This value';
  const last =
    field
      .replace(/\[\d+\]/g, '')
      .split('.')
      .pop() || field;
  if (FIELD_WORDS[last]) return FIELD_WORDS[last];
  const words = last.replace(/_+/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

// "3 minutes", "45 seconds": how long to wait after a 429.
function waitFor(seconds: number | null): string {
  if (!seconds || seconds <= 0) return 'a little while';
  if (seconds < 90) return `${seconds} second${seconds === 1 ? '' : 's'}`;
  const minutes = Math.ceil(seconds / 60);
  return `${minutes} minute${minutes === 1 ? '' : 's'}`;
}

const isPassword = (field: string | null) => !!field && /password$/.test(field);

// Sentences by error code; a function picks one by field or by the answer's numbers.
const BY_CODE: Record<string, (e: ApiError) => string> = {
  invalid_credentials: (e) =>
    e.field === 'current_password'
      ? 'That is not your current password.'
      : 'The email address or the password is not right. Check both and try again.',
  rate_limited: (e) => `Too many attempts. Wait ${waitFor(e.retryAfter)} and try again.`,
  empty_grant: () => 'This access gives nothing: choose at least one role.',
  email_taken: () => 'Another account already uses this email address.',
  names_belong_to_person: () =>
    'Names belong to the person: only they change them, in their own account.',
  impersonation_read_only: () =>
    'While you view the studio as someone else, nothing can be changed.',
  invitation_expired: () => 'This invitation has expired. Ask for a new one.',
  invitation_not_pending: () => 'This invitation was already accepted, declined or revoked.',
  account_disabled: () => 'This account is disabled. Ask your administrator.',
  // Rule 4 in time: what one gives ends no later than one's own right to give it.
  grant_ceiling: (e) => {
    const m = /outlast your own access here, which ends at (\d{4}-\d\d-\d\dT[\d:.]+Z)/.exec(
      e.message,
    );
    return m ? outlastSentence(m[1]) : tidied(e);
  },
};

// Sentences for the checks every text field goes through (code invalid_input), by the
// detail's form; null when the detail is of another form.
function inputSentence(e: ApiError): string | null {
  const d = e.message;
  const label = fieldWords(e.field);
  let m: RegExpExecArray | null;
  if (/ is required$| must not be empty$/.test(d)) {
    if (e.field === 'email') return 'Enter an email address.';
    if (isPassword(e.field)) return 'Enter the password.';
    return `${label} cannot be empty.`;
  }
  if ((m = / must be at least (\d+) (?:bytes|characters)$/.exec(d)))
    return isPassword(e.field)
      ? `Passwords have at least ${m[1]} characters.`
      : `${label} needs at least ${m[1]} characters.`;
  if ((m = / must be at most (\d+) (?:bytes|characters)$/.exec(d)))
    return isPassword(e.field)
      ? `Passwords have at most ${m[1]} characters.`
      : `${label} has at most ${m[1]} characters.`;
  if (/ is not a valid address$| must be exactly one address$/.test(d))
    return 'Enter one email address, like name@example.com.';
  if ((m = / must be 1 to (\d+) ASCII letters/.exec(d)))
    return `${label} takes 1 to ${m[1]} letters a–z, digits, '-' or '_', without spaces.`;
  if (/ must not contain (spaces|invisible|Unicode noncharacters)/.test(d))
    return `${label} holds a space or an invisible character that cannot be used here.`;
  if (/ is not valid UTF-8$/.test(d)) return `${label} holds characters that cannot be read.`;
  return null;
}

// The server's detail as a sentence: the field's code name in words, capital first, full stop.
function tidied(e: ApiError): string {
  let d = e.message.trim();
  if (e.field && d.startsWith(e.field)) d = fieldWords(e.field) + d.slice(e.field.length);
  if (!d) return 'This was refused.';
  d = d[0].toUpperCase() + d.slice(1);
  return /[.!?]$/.test(d) ? d : `${d}.`;
}

// Whether the words were written by the console already (a sentence with its full stop), not
// the server's detail, which never ends with one.
const alreadyWorded = (text: string) => /[.!?]$/.test(text.trim());

// The sentence to show for an API error.
export function humanMessage(e: ApiError): string {
  if (alreadyWorded(e.message)) return e.message;
  const byCode = BY_CODE[e.code];
  if (byCode) return byCode(e);
  if (e.status === 0) return 'usher cannot be reached. Check your connection and try again.';
  if (e.status >= 500) {
    const ref = e.requestId
      ? ` If it keeps happening, give your administrator this reference: ${e.requestId}.`
      : '';
    return `Something went wrong on the server. Try again in a moment.${ref}`;
  }
  if (e.status === 429) return BY_CODE.rate_limited(e);
  if (e.status === 401 && e.code === 'unauthenticated')
    return 'You are signed out. Sign in again to go on.';
  if (e.code === 'invalid_input' || e.status === 400) {
    const s = inputSentence(e);
    if (s) return s;
  }
  return tidied(e);
}

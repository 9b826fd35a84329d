// What the sections of the Account page share: a section's frame, the server's refusals put in
// words for people (kept at the field they name), and the focus moved to the first problem.
import { ComponentChildren } from 'preact';
import { useEffect } from 'preact/hooks';
import { ApiError, messageOf } from '../api';
import { sentence } from '../format';
import type { Me } from '../types';

// "3 minutes", "45 seconds": how long to wait after a 429.
export function waitWords(seconds: number | null): string {
  if (!seconds || seconds <= 0) return 'a little while';
  if (seconds < 90) return `${seconds} second${seconds === 1 ? '' : 's'}`;
  const minutes = Math.ceil(seconds / 60);
  return `${minutes} minute${minutes === 1 ? '' : 's'}`;
}

// The agency a last_owner refusal is about: the one of the person's agencies whose id or name
// the answer mentions.
export function lastOwnerAgency(e: ApiError, me: Me | null): string | null {
  const said = JSON.stringify(e.body) + e.message;
  const agency =
    (me?.agencies || []).find((a) => said.includes(a.id)) ||
    (me?.agencies || []).find((a) => a.name && said.includes(a.name));
  return agency ? agency.name : null;
}

// The sentence for a refusal of the account routes; field says where it belongs (the API's
// field, or the one given for codes that name none).
export function accountError(
  e: unknown,
  me: Me | null = null,
  fieldFor: Record<string, string> = {},
): unknown {
  if (!(e instanceof ApiError)) return e;
  const say = (text: string, field: string | null = e.field) =>
    new ApiError(
      e.status,
      e.code,
      text,
      fieldFor[e.code] ?? field,
      e.requestId,
      e.retryAfter,
      e.body,
    );
  switch (e.code) {
    case 'invalid_credentials':
      return say('That is not your current password.', 'current_password');
    case 'rate_limited':
      return say(
        e.retryAfter
          ? `Too many attempts. Wait ${waitWords(e.retryAfter)} and try again.`
          : sentence(e.message),
        null,
      );
    case 'invalid_code':
      return (fieldFor.invalid_code ?? e.field) === 'recovery_code'
        ? say('That recovery code is not right, or it was already used.')
        : say(
            'That code is not right. Use the newest code your app shows, or check that the time on your phone is correct.',
          );
    case 'second_factor_on':
      return say('Two-step verification is already on for your account.', null);
    case 'second_factor_needs_password':
      return say(
        "You sign in through your company login, which handles two-step verification. Set a password in usher first to use usher's own.",
        null,
      );
    case 'email_taken':
      return say('Another account already uses this email address.', 'email');
    case 'same_email':
      return say('That is already your email address.', 'email');
    case 'no_enrolment':
      return say(
        'This setup has expired or was started elsewhere. Cancel and turn it on again.',
        null,
      );
    case 'second_factor_off':
      return say('Two-step verification is already off for your account.', null);
    case 'last_platform_admin':
      return say(
        'You are the only platform admin. Make someone else a platform admin first, then delete your account.',
        null,
      );
    case 'impersonation_read_only':
      return say(
        'While you view the studio as someone else, their account cannot be changed.',
        null,
      );
    case 'second_factor_required':
      return say(
        'Your agency requires two-step verification: turn it on below before anything else.',
        null,
      );
    case 'last_owner': {
      const agency = lastOwnerAgency(e, me);
      const which = agency ? `of ${agency}` : 'of an agency';
      return say(
        `You are the only owner ${which}. Make someone else an owner ${agency ? `of ${agency} ` : ''}first (Agencies, then Users), then delete your account.`,
        null,
      );
    }
    default:
      break;
  }
  if (e.status >= 500) {
    const ref = e.requestId
      ? ` If it keeps happening, give your administrator this reference: ${e.requestId}.`
      : '';
    return say(`Something went wrong on the server. Try again in a moment.${ref}`, null);
  }
  if (e.status === 0) return say(sentence(messageOf(e)), null);
  return say(sentence(e.message));
}

// Once per new error, moves the focus to the first field marked invalid, or else to the form's
// error note, so a keyboard or screen reader user lands on what went wrong.
export function useFocusError(form: { current: HTMLElement | null }, error: unknown): void {
  useEffect(() => {
    if (!error || !form.current) return;
    const target =
      form.current.querySelector<HTMLElement>('[aria-invalid="true"]') ||
      form.current.querySelector<HTMLElement>('.note-error');
    if (!target) return;
    if (!target.matches('input, select, textarea, button')) target.tabIndex = -1;
    target.focus();
  }, [error, form]);
}

interface SectionProps {
  id: string;
  title: string;
  children: ComponentChildren;
  danger?: boolean;
}

// One section of the Account page: a card with its heading, reachable from the page's contents.
export function AccountSection({ id, title, children, danger }: SectionProps) {
  return (
    <section
      id={id}
      class={`card account-section${danger ? ' account-danger' : ''}`}
      aria-labelledby={`${id}-title`}
    >
      <h2 id={`${id}-title`} tabIndex={-1}>
        {title}
      </h2>
      {children}
    </section>
  );
}

// Moves the focus to an element by id after the next render (a step's heading or a result).
export function focusSoon(id: string): void {
  setTimeout(() => {
    const el = document.getElementById(id);
    if (!el) return;
    if (!el.matches('input, select, textarea, button, a')) el.tabIndex = -1;
    el.focus();
  }, 0);
}

// Who gets notified, said in the invite and edit dialogs. The people notified of incoming chats
// in an environment are its active members whose own grant on that environment holds Agent or
// Operator (docs/rules.md, rule 3); the same roles for the whole agency notify nobody. The note
// says which environments a choice adds the person to, or takes them off.
import { environmentName, useAgency } from '../agency';
import type { GrantDraft } from './grants_editor';

const NOTIFYING = ['agent', 'operator'];

const notifies = (d: GrantDraft) => d.roles.some((r) => NOTIFYING.includes(r));

// The environments (ids) whose notifications the grants bring.
export function notifiedIn(drafts: GrantDraft[]): Set<string> {
  return new Set(drafts.filter((d) => d.scope && notifies(d)).map((d) => d.scope));
}

interface Props {
  before: GrantDraft[]; // what the person holds now (nothing for an invitation)
  after: GrantDraft[]; // what the dialog would give
  who: string; // the person's name (an invitation says "they")
  invitation?: boolean;
}

export function NotifyNote({ before, after, who, invitation }: Props) {
  const { environments } = useAgency();
  const was = notifiedIn(before);
  const will = notifiedIn(after);
  const name = (id: string) => environmentName(environments, id);
  const lines: string[] = [];
  for (const id of will) {
    if (was.has(id)) continue;
    lines.push(
      invitation
        ? `Once they accept, they will be notified of incoming chats in ${name(id)} (Agent or Operator there).`
        : `${who} will be notified of incoming chats in ${name(id)} (Agent or Operator there).`,
    );
  }
  for (const id of was) {
    if (!will.has(id))
      lines.push(`${who} will no longer be notified of incoming chats in ${name(id)}.`);
  }
  if (after.some((d) => !d.scope && notifies(d)) && will.size === 0) {
    lines.push(
      'Agent or Operator for the whole agency is not notified of chats in any environment: to be notified, ' +
        'a person needs the role in the environment itself.',
    );
  }
  return (
    <div class="notify-note" aria-live="polite">
      {lines.length ? (
        <div class="note note-info">
          <p class="field-label">Who gets notified</p>
          <ul class="notify-list">
            {lines.map((l) => (
              <li key={l}>{l}</li>
            ))}
          </ul>
        </div>
      ) : null}
    </div>
  );
}

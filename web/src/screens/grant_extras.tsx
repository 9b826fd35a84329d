// The extra permissions of one grant, by kind (work, then authority), each by its description,
// with what may not be given here disabled and the reason beside it.
import { sentence } from '../format';
import type { GrantablePermission } from '../types';
import { useId } from '../ui';
import type { GrantDraft } from './grants_editor';
import { permissionText } from './permission_words';

const KINDS: { kind: GrantablePermission['kind']; title: string; hint: string }[] = [
  {
    kind: 'work',
    title: 'Work',
    hint: 'The daily work: the inbox, content, customer records, analytics, bots.',
  },
  {
    kind: 'authority',
    title: 'Authority',
    hint: 'Power over people and settings: only someone who holds it here may give it.',
  },
];

interface Props {
  index: number;
  permissions: GrantablePermission[];
  draft: GrantDraft;
  fromRoles: Set<string>; // the permissions the chosen roles give already
  onChange: (d: Partial<GrantDraft>) => void;
}

export function ExtraChoices({ index, permissions, draft, fromRoles, onChange }: Props) {
  const chosen = draft.extra.length;
  return (
    <details class="extras" open={chosen > 0}>
      <summary>Extra permissions{chosen ? ` (${chosen} chosen)` : ''}</summary>
      {KINDS.map(({ kind, title, hint }) => {
        const list = permissions.filter((p) => p.kind === kind);
        return list.length ? (
          <fieldset key={kind} class="checks checks-compact">
            <legend>{title}</legend>
            <p class="hint checks-hint">{hint}</p>
            {list.map((p) => (
              <ExtraCheck
                key={p.name}
                index={index}
                permission={p}
                draft={draft}
                given={fromRoles.has(p.name)}
                onChange={onChange}
              />
            ))}
          </fieldset>
        ) : null;
      })}
    </details>
  );
}

interface CheckProps {
  index: number;
  permission: GrantablePermission;
  draft: GrantDraft;
  given: boolean;
  onChange: (d: Partial<GrantDraft>) => void;
}

// A permission already chosen stays a checkbox that can be taken away even where it may not be
// given; one a chosen role gives shows as ticked and fixed.
function ExtraCheck({ index, permission: p, draft, given, onChange }: CheckProps) {
  const id = useId('extra');
  const picked = draft.extra.includes(p.name);
  const fromRole = given && !picked;
  const note = fromRole
    ? 'Given by a role chosen above.'
    : p.grantable
      ? null
      : sentence(p.reason || 'you may not give it here');
  const toggle = (on: boolean) =>
    onChange({ extra: on ? [...draft.extra, p.name] : draft.extra.filter((x) => x !== p.name) });
  return (
    <div class={`check${!picked && (given || !p.grantable) ? ' check-off' : ''}`}>
      <input
        type="checkbox"
        id={id}
        name={`grants[${index}].extra_permissions`}
        value={p.name}
        checked={picked || given}
        disabled={!picked && (given || !p.grantable)}
        aria-describedby={note ? `${id}-note` : undefined}
        onChange={(e) => toggle((e.currentTarget as HTMLInputElement).checked)}
      />
      <span>
        <label for={id}>{permissionText(p.description)}</label>
        <code class="check-hint">{p.name}</code>
        {note ? (
          <span class={fromRole ? 'check-hint' : 'check-reason'} id={`${id}-note`}>
            {note}
          </span>
        ) : null}
      </span>
    </div>
  );
}

// The "Until" field of everything that gives access (each scope of the invite dialog and of a
// member's access, and a bot's manager invitation): the last day of access, in UTC. Under a
// ceiling (the giver's own right to give ends, as GET /agencies/{id}/grantable says) the day
// starts at the ceiling's, no later one may be picked, the sentence under the field says why,
// and a later day typed in is refused before anything is sent, beside the field.
import { useEffect, useState } from 'preact/hooks';
import { ApiError } from '../api';
import { ceilingSentence, dayHeldTo, outlastSentence, pastCeiling, utcDay } from '../ceiling';
import { FieldError, useId } from '../ui';

// The code of the console's own refusal of a day past the ceiling: worded as the server's
// grant_ceiling, but nothing was asked of the server, whose answers need not be asked again.
export const PAST_CEILING = 'end_past_ceiling';

// The refusal of lastDay for field when it falls after the ceiling's day; null when it fits.
export function pastCeilingRefusal(
  field: string,
  lastDay: string | undefined,
  ceiling: string | null | undefined,
): ApiError | null {
  if (!ceiling || !pastCeiling(lastDay, ceiling)) return null;
  return new ApiError(400, PAST_CEILING, outlastSentence(ceiling), field, null);
}

// Whether err refuses an end for outlasting the giver's own access: the server's grant_ceiling
// about the end, or the console's own refusal.
export const endRefused = (err: unknown) =>
  err instanceof ApiError &&
  (err.code === PAST_CEILING || (err.code === 'grant_ceiling' && /outlast/.test(err.message)));

// The last day of one grant, held to the ceiling each time it becomes known or changes (see
// dayHeldTo): '' while there is none. Several grants at once are held by their editor.
export function useHeldDay(ceiling: string | null): [string, (day: string) => void] {
  const [day, setDay] = useState('');
  useEffect(() => setDay((d) => dayHeldTo(d, ceiling)), [ceiling]);
  return [day, setDay];
}

interface UntilProps {
  name: string; // the field the API names in its refusals (expires_at, grants[0].expires_at)
  value: string; // the last day, YYYY-MM-DD; '' when access does not end
  onValue: (v: string) => void;
  ceiling?: string | null;
  owner?: boolean; // an owner's access does not end: the field stays empty and disabled
  error?: string | null; // why the end was refused: shown here, where the focus goes
}

// The day access ends, optional: from tomorrow on, in UTC. An owner's access does not end.
// Under a ceiling it is required and no later than that day.
export function UntilField({ name, value, onValue, ceiling, owner = false, error }: UntilProps) {
  const id = useId('until');
  const tomorrow = new Date(Date.now() + 86400000).toISOString().slice(0, 10);
  const last = ceiling ? utcDay(ceiling) : undefined;
  return (
    <div class={`field until-field${error ? ' field-invalid' : ''}`}>
      <label for={id}>Until {ceiling ? null : <span class="optional">(optional)</span>}</label>
      <input
        id={id}
        type="date"
        name={name}
        value={value}
        min={last && last < tomorrow ? last : tomorrow}
        max={last}
        required={!!ceiling}
        aria-invalid={error ? 'true' : undefined}
        disabled={owner && !value}
        aria-describedby={error ? `${id}-error ${id}-hint` : `${id}-hint`}
        onInput={(e) => onValue((e.currentTarget as HTMLInputElement).value)}
      />
      <p class="hint" id={`${id}-hint`}>
        {ceiling
          ? `${ceilingSentence(ceiling)} Access ends at the end of the day chosen (UTC).`
          : owner
            ? "An owner's access does not end."
            : 'Access ends at the end of this day (UTC). Empty: it does not end.'}
      </p>
      <FieldError id={`${id}-error`} message={error} />
    </div>
  );
}

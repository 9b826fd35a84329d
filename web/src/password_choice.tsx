// Choosing a new password, wherever one is chosen (accepting an invitation as a new account,
// the emailed reset link, the Account page): the password with its hint and strength meter,
// and the same password once more. The two must match before anything is sent; a refusal of
// either field is shown beside it and takes the focus there.
import { useRef, useState } from 'preact/hooks';
import { ApiError } from './api';
import { PasswordStrength } from './password_strength';
import { TextField, useId } from './ui';
import { useFocusError } from './screens/account_kit';

export interface PasswordChoiceState {
  name: string; // the API's field: password or new_password; the repeat is <name>_repeat
  label: string; // "Password", "New password": the repeat field is "Repeat the <label>"
  value: string;
  repeat: string;
  setValue: (v: string) => void;
  setRepeat: (v: string) => void;
  // The refusal to show when the two differ, at the repeat field; null when they match.
  mismatch: () => ApiError | null;
  clear: () => void;
}

// The state of a password being chosen for the API's field name, called label on screen.
export function usePasswordChoice(name: string, label: string): PasswordChoiceState {
  const [value, setValue] = useState('');
  const [repeat, setRepeat] = useState('');
  const noun = label.toLowerCase();
  return {
    name,
    label,
    value,
    repeat,
    setValue,
    setRepeat,
    mismatch: () =>
      value === repeat
        ? null
        : new ApiError(400, 'invalid_input', `The two ${noun}s differ.`, `${name}_repeat`, null),
    clear: () => {
      setValue('');
      setRepeat('');
    },
  };
}

interface Props {
  choice: PasswordChoiceState;
  error: unknown;
  // Whose password it is: their email address and names count as easy guesses on the meter.
  email: string;
  names: string[];
}

export function PasswordChoice({ choice, error, email, names }: Props) {
  const strengthId = useId(`${choice.name}-strength`);
  const box = useRef<HTMLDivElement>(null);
  // A new refusal of either field takes the focus to it.
  useFocusError(box, error);
  return (
    <div ref={box} class="password-choice">
      <TextField
        label={choice.label}
        name={choice.name}
        type="password"
        value={choice.value}
        onValue={choice.setValue}
        required
        minLength={8}
        autoComplete="new-password"
        hint="At least 8 characters. A long phrase is easier to remember and harder to guess."
        describedBy={strengthId}
        error={error}
      />
      <PasswordStrength id={strengthId} password={choice.value} email={email} names={names} />
      <TextField
        label={`Repeat the ${choice.label.toLowerCase()}`}
        name={`${choice.name}_repeat`}
        type="password"
        value={choice.repeat}
        onValue={choice.setRepeat}
        required
        autoComplete="new-password"
        error={error}
      />
    </div>
  );
}

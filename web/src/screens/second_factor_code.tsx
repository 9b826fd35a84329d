// The code that proves the second factor, wherever one is asked for (the second step of
// signing in, turning two-step verification off, deleting the account): the 6-digit code of
// the authenticator app, or one of the recovery codes after "Use a recovery code instead".
// Switching empties the field and takes the focus to it, since it changes meaning.
import type { Ref } from 'preact';
import { useRef, useState } from 'preact/hooks';
import { ApiError } from '../api';
import { FieldError, useId } from '../ui';

// What the field and the switch say in each mode.
export interface CodeWords {
  code: string; // the label for the app's code
  recovery: string; // the label for a recovery code
  toCode: string; // the switch back to the app's code (the other way is always the same)
  codeHint?: string;
  recoveryHint?: string;
}

// The words of the Account page, where the code confirms a change.
export const CONFIRM_WORDS: CodeWords = {
  code: '6-digit code from the app',
  recovery: 'Recovery code',
  toCode: 'Use a code from the app instead',
};

// The digits of a code typed with spaces or a dash ("123 456").
const digitsOf = (s: string) => s.replace(/[\s-]/g, '');

// The code being typed and which kind it is.
export interface SecondFactorCode {
  recovery: boolean;
  code: string; // as typed
  setCode: (v: string) => void;
  switchMode: () => void; // to the other kind, emptied
  field: 'code' | 'recovery_code'; // the API's name for it
  value: string; // what to send: a recovery code trimmed, the app's code as its digits
  wellFormed: boolean; // a recovery code (the server judges it), or the app's code as 6 digits
}

export function useSecondFactorCode(): SecondFactorCode {
  const [recovery, setRecovery] = useState(false);
  const [code, setCode] = useState('');
  const value = recovery ? code.trim() : digitsOf(code);
  return {
    recovery,
    code,
    setCode,
    switchMode: () => {
      setRecovery(!recovery);
      setCode('');
    },
    field: recovery ? 'recovery_code' : 'code',
    value,
    wellFormed: recovery || /^[0-9]{6}$/.test(value),
  };
}

// The Account page's refusal of an app's code that is not 6 digits, before it is sent; null
// when it is (or is a recovery code, which the server judges).
export function confirmCodeRefusal(c: SecondFactorCode): ApiError | null {
  if (c.wellFormed) return null;
  const text = 'Enter the 6 digits your app shows for usher.';
  return new ApiError(400, 'invalid_input', text, 'code', null);
}

interface Props {
  state: SecondFactorCode;
  onSwitch?: () => void; // after a switch of kind (to clear a refusal of the other kind)
  error: string | null; // why the code was refused: shown beside it
  words?: CodeWords;
  large?: boolean; // the code in large monospace, as the only field of its page
  inputRef?: Ref<HTMLInputElement>;
}

// The field's name is the API's: code, or recovery_code.
export function SecondFactorCodeField({
  state,
  onSwitch,
  error,
  words = CONFIRM_WORDS,
  large = false,
  inputRef,
}: Props) {
  const { recovery } = state;
  const id = useId('second-factor-code');
  const own = useRef<HTMLInputElement>(null);
  const input = (inputRef as { current: HTMLInputElement | null } | undefined) ?? own;
  const hint = recovery ? words.recoveryHint : words.codeHint;
  const described = [hint ? `${id}-hint` : '', error ? `${id}-error` : ''].filter(Boolean);

  function switchMode() {
    state.switchMode();
    onSwitch?.();
    // The field changes meaning: the focus follows it.
    setTimeout(() => input.current?.focus(), 0);
  }

  return (
    <>
      <div class={`field${error ? ' field-invalid' : ''}`}>
        <label for={id}>{recovery ? words.recovery : words.code}</label>
        <input
          ref={input}
          id={id}
          name={recovery ? 'recovery_code' : 'code'}
          type="text"
          class={large ? `code-input${recovery ? ' code-input-recovery' : ''}` : undefined}
          value={state.code}
          required
          autoComplete={recovery ? 'off' : 'one-time-code'}
          inputMode={recovery ? 'text' : 'numeric'}
          pattern={recovery ? undefined : '[0-9 ]*'}
          maxLength={recovery ? 40 : 7}
          spellcheck={false}
          autoCapitalize="off"
          aria-invalid={error ? 'true' : undefined}
          aria-describedby={described.length ? described.join(' ') : undefined}
          onInput={(e) => state.setCode((e.currentTarget as HTMLInputElement).value)}
        />
        {hint ? (
          <p class="hint" id={`${id}-hint`}>
            {hint}
          </p>
        ) : null}
        <FieldError id={`${id}-error`} message={error} />
      </div>
      <p class="small">
        <button type="button" class="button-link" onClick={switchMode}>
          {recovery ? words.toCode : 'Use a recovery code instead'}
        </button>
      </p>
    </>
  );
}

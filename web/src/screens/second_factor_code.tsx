// The code that proves the second factor, wherever one is asked for (the second step of
// signing in, turning two-step verification off, deleting the account): the 6-digit code of
// the authenticator app, or one of the recovery codes after "Use a recovery code instead".
// Switching empties the field and takes the focus to it, since it changes meaning.
import type { Ref } from 'preact';
import { useRef } from 'preact/hooks';
import { useId } from '../ui';

// What the field and the switch say in each mode.
export interface CodeWords {
  code: string; // the label for the app's code
  recovery: string; // the label for a recovery code
  toCode: string; // the switch back to the app's code
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

// What to send of the code typed: a recovery code trimmed, the app's code as its digits.
export const codeOf = (typed: string, recovery: boolean) =>
  recovery ? typed.trim() : digitsOf(typed);

interface Props {
  recovery: boolean;
  // Called with the other mode when the person switches; the field is emptied already.
  onRecovery: (recovery: boolean) => void;
  value: string;
  onValue: (v: string) => void;
  error: string | null; // why the code was refused: shown beside it
  words?: CodeWords;
  large?: boolean; // the code in large monospace, as the only field of its page
  inputRef?: Ref<HTMLInputElement>;
}

// The field's name is the API's: code, or recovery_code.
export function SecondFactorCodeField({
  recovery,
  onRecovery,
  value,
  onValue,
  error,
  words = CONFIRM_WORDS,
  large = false,
  inputRef,
}: Props) {
  const id = useId('second-factor-code');
  const own = useRef<HTMLInputElement>(null);
  const input = (inputRef as { current: HTMLInputElement | null } | undefined) ?? own;
  const hint = recovery ? words.recoveryHint : words.codeHint;
  const described = [hint ? `${id}-hint` : '', error ? `${id}-error` : ''].filter(Boolean);

  function switchMode() {
    onValue('');
    onRecovery(!recovery);
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
          value={value}
          required
          autoComplete={recovery ? 'off' : 'one-time-code'}
          inputMode={recovery ? 'text' : 'numeric'}
          pattern={recovery ? undefined : '[0-9 ]*'}
          maxLength={recovery ? 40 : 7}
          spellcheck={false}
          autoCapitalize="off"
          aria-invalid={error ? 'true' : undefined}
          aria-describedby={described.length ? described.join(' ') : undefined}
          onInput={(e) => onValue((e.currentTarget as HTMLInputElement).value)}
        />
        {hint ? (
          <p class="hint" id={`${id}-hint`}>
            {hint}
          </p>
        ) : null}
        {error ? (
          <p class="field-error" id={`${id}-error`}>
            {error}
          </p>
        ) : null}
      </div>
      <p class="small">
        <button type="button" class="button-link" onClick={switchMode}>
          {recovery ? words.toCode : 'Use a recovery code instead'}
        </button>
      </p>
    </>
  );
}

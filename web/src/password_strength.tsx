// The strength meter under a new password: zxcvbn's estimate as the person types, with the
// person's email and names counted as easy guesses and the reason in the server's words. It
// only advises: the server judges again (the same 10^8 guesses, with zxcvbn's C port) and its
// 400 weak_password is what counts. zxcvbn and its dictionaries (about 800 KB) load on the
// first keystroke, in a chunk of their own, so the console's main bundle stays small.
import { useEffect, useState } from 'preact/hooks';
import type { ZxcvbnMatch, ZxcvbnResult } from 'zxcvbn';

/** The least log10(guesses) the server accepts (APP_PASSWORD_GUESSES_LOG10_MIN). */
export const GUESSES_LOG10_MIN = 8;
const STRONG_LOG10 = 10;
const ESTIMATED_CHARS = 256; // zxcvbn slows down on long input; a longer start is strong anyway
const PART_MIN = 3; // as the server: shorter matches and words count as added characters

type Kind = 'word' | 'keyboard' | 'sequence' | 'repeat' | 'date';
const KINDS: Kind[] = ['word', 'keyboard', 'sequence', 'repeat', 'date'];
const KIND_OF: Record<string, Kind | undefined> = {
  dictionary: 'word',
  spatial: 'keyboard',
  sequence: 'sequence',
  repeat: 'repeat',
  date: 'date',
  regex: 'date', // zxcvbn's only regex is a recent year
};
const ALONE: Record<Kind, string> = {
  word: 'it is a common word or password',
  keyboard: 'it is a keyboard pattern',
  sequence: 'it is a sequence such as abcd or 1234',
  repeat: 'it repeats characters or a short pattern',
  date: 'it is a date or a year',
};
const WHAT: Record<Kind, string> = {
  word: 'it is a common word',
  keyboard: 'it is a keyboard pattern',
  sequence: 'it is a sequence',
  repeat: 'it repeats a pattern',
  date: 'it is a date or a year',
};

/** The words the server also counts: the email, its local part, their pieces, the names. */
export function userWords(email: string, ...names: string[]): string[] {
  const words = new Set<string>();
  const add = (w: string, separators?: RegExp) => {
    for (const piece of [w, ...(separators ? w.split(separators) : [])])
      if (piece.length >= PART_MIN) words.add(piece.toLowerCase());
  };
  const at = email.indexOf('@');
  add(email);
  add(at >= 0 ? email.slice(0, at) : email, /[._+-]/);
  if (at >= 0) add(email.slice(at + 1), /\./);
  for (const n of names) add(n.trim(), /[ '-]/);
  return [...words];
}

/** Why a weak password is weak, from the matches of zxcvbn's estimate. */
export function reasonOf(password: string, sequence: ZxcvbnMatch[]): string {
  const covered = new Map<Kind, number>();
  let words = 0;
  const kindOf = (m: ZxcvbnMatch) => (m.j - m.i + 1 < PART_MIN ? undefined : KIND_OF[m.pattern]);
  for (const m of sequence) {
    if (m.dictionary_name === 'user_inputs') return 'it contains your name or email address';
    const k = kindOf(m);
    if (!k) continue;
    covered.set(k, (covered.get(k) || 0) + m.j - m.i + 1);
    if (k === 'word') words++;
  }
  let top: Kind | undefined;
  for (const k of KINDS) if ((covered.get(k) || 0) > (top ? covered.get(top) || 0 : 0)) top = k;
  if (!top) return 'it is too short for the kinds of characters it uses';
  const rest = password
    .split('')
    .filter((_, i) => !sequence.some((m) => kindOf(m) === top && m.i <= i && i <= m.j));
  const digits = rest.length > 0 && rest.every((c) => c >= '0' && c <= '9');
  if (top === 'word' && words > 1)
    return rest.length === 0 || digits
      ? 'it is made of common words'
      : 'it is made of common words and a few characters';
  if (rest.length === 0) return ALONE[top];
  return `${WHAT[top]} with ${digits ? 'a number' : 'a few characters'} added`;
}

let estimator: Promise<(password: string, inputs: string[]) => ZxcvbnResult> | null = null;

function loadEstimator() {
  estimator ??= import('zxcvbn').then(
    (m) => m.default,
    (e) => {
      estimator = null; // a failed download may be tried again on the next keystroke
      throw e;
    },
  );
  return estimator;
}

interface Estimate {
  log10: number;
  reason: string; // '' when strong enough
}

interface Props {
  id: string; // for the password field's aria-describedby
  password: string;
  email: string;
  names: string[];
}

export function PasswordStrength({ id, password, email, names }: Props) {
  const [estimate, setEstimate] = useState<Estimate | null>(null);
  const inputs = userWords(email, ...names).join('\n');
  useEffect(() => {
    if (!password) {
      setEstimate(null);
      return;
    }
    let live = true;
    loadEstimator().then(
      (zxcvbn) => {
        if (!live) return;
        const pw = password.slice(0, ESTIMATED_CHARS);
        const r = zxcvbn(pw, inputs ? inputs.split('\n') : []);
        setEstimate({
          log10: r.guesses_log10,
          reason: r.guesses_log10 < GUESSES_LOG10_MIN ? reasonOf(pw, r.sequence) : '',
        });
      },
      () => live && setEstimate(null),
    );
    return () => {
      live = false;
    };
  }, [password, inputs]);

  const shown = password ? estimate : null;
  const text = !shown
    ? ''
    : shown.reason
      ? `Too easy to guess: ${shown.reason}`
      : shown.log10 < STRONG_LOG10
        ? 'Strong enough'
        : 'Strong';
  return (
    <div class={`strength${shown?.reason ? ' strength-weak' : ''}`}>
      <meter
        min={0}
        max={12}
        low={GUESSES_LOG10_MIN}
        high={STRONG_LOG10}
        optimum={12}
        value={shown ? Math.min(12, shown.log10) : 0}
        aria-label="Password strength"
        aria-valuetext={text || 'no password typed yet'}
      />
      <p class="strength-text" id={id} aria-live="polite">
        {text}
      </p>
    </div>
  );
}

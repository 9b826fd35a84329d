// The part of zxcvbn 4.4.2 (which ships no types) that the strength meter reads.
declare module 'zxcvbn' {
  export interface ZxcvbnMatch {
    pattern: 'dictionary' | 'spatial' | 'repeat' | 'sequence' | 'regex' | 'date' | 'bruteforce';
    i: number; // first character of the match
    j: number; // last character, included
    token: string;
    dictionary_name?: string; // 'user_inputs' for the words passed in
  }
  export interface ZxcvbnResult {
    guesses_log10: number;
    sequence: ZxcvbnMatch[];
  }
  export default function zxcvbn(password: string, userInputs?: string[]): ZxcvbnResult;
}

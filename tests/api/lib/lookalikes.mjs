// Characters that no name, shortcode, email address or role id may hold (SECURITY 43): each a
// real example of a class usher refuses, with the code point its 400 names. They are invisible,
// or change how the text around them is shown: controls (Cc, C1 included), format characters
// (Cf: zero-width characters, bidi embeddings, overrides and isolates, the soft hyphen, the byte
// order mark, tag characters) and the line and paragraph separators (Zl, Zp).
export const INVISIBLE = [
  { char: '\u2028', code: 'U+2028', what: 'line separator' },
  { char: '\u2029', code: 'U+2029', what: 'paragraph separator' },
  { char: '\u0085', code: 'U+0085', what: 'next line (C1 control)' },
  { char: '\u200b', code: 'U+200B', what: 'zero width space' },
  { char: '\u200c', code: 'U+200C', what: 'zero width non-joiner' },
  { char: '\u200d', code: 'U+200D', what: 'zero width joiner' },
  { char: '\u2060', code: 'U+2060', what: 'word joiner' },
  { char: '\ufeff', code: 'U+FEFF', what: 'zero width no-break space' },
  { char: '\u202a', code: 'U+202A', what: 'left-to-right embedding' },
  { char: '\u202e', code: 'U+202E', what: 'right-to-left override' },
  { char: '\u2066', code: 'U+2066', what: 'left-to-right isolate' },
  { char: '\u2069', code: 'U+2069', what: 'pop directional isolate' },
  { char: '\u00ad', code: 'U+00AD', what: 'soft hyphen' },
  { char: '\u{e0041}', code: 'U+E0041', what: 'tag latin capital letter A' },
];

// "owner" with a Cyrillic о (U+043E) in place of the Latin o: it looks like the built-in role.
export const CYRILLIC_OWNER = '\u043ewner';

// The detail of the 400 that refuses c in field.
export const invisibleDetail = (field, c) => `${field} must not contain invisible or control characters (${c.code})`;

// Text that may be stored: Postgres refuses NUL in text (a 500 if it got that far), other
// control characters and lone UTF-16 surrogates (sent as JSON `\ud800`) are never meant.
// Line breaks and tabs are allowed in multi-line fields.

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;
// eslint-disable-next-line no-control-regex
const CONTROL_OR_BREAK = /[\u0000-\u001F\u007F]/;
const LONE_SURROGATE = /\p{Cs}/u;

/** True when `s` holds a character no stored text may contain (single-line unless `multiline`). */
export function hasForbiddenChars(s: string, multiline = false): boolean {
  return (multiline ? CONTROL : CONTROL_OR_BREAK).test(s) || LONE_SURROGATE.test(s);
}

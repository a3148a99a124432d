import { z } from 'zod';

export interface TextOptions {
  /** Fewest code points accepted; 1 unless given, so an empty string is not a value. */
  min?: number;
  /** Most code points accepted. */
  max: number;
  /** The whole value must match (anchor it, no `g` flag), e.g. `/^[\w.:-]+$/` for an id. */
  pattern?: RegExp;
  /** Says what the pattern expects, e.g. `expected letters, digits or _ . : -`. */
  patternMessage?: string;
}

/**
 * Why a string cannot be stored in PostgreSQL's UTF-8 `text` (or `jsonb`), or undefined when
 * it can. NUL is the one character PostgreSQL refuses outright (its strings are
 * NUL-terminated); an unpaired UTF-16 surrogate has no UTF-8 encoding, so the driver would
 * silently write U+FFFD in its place and the stored value would differ from the one sent.
 * Redis keys built from such a string are altered the same way on their way to bytes.
 */
export function unstorableText(value: string): string | undefined {
  if (value.includes('\u0000'))
    return 'must not contain U+0000 (NUL), which PostgreSQL text cannot store';
  if (!value.isWellFormed())
    return 'must be well-formed Unicode: it contains an unpaired UTF-16 surrogate, which has no UTF-8 encoding';
  return undefined;
}

/** Code points in a well-formed string: its UTF-16 length minus one per surrogate pair. */
export function codePointLength(value: string): number {
  let pairs = 0;
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff) {
      pairs++;
      i++;
    }
  }
  return value.length - pairs;
}

/**
 * A text field that will reach a database or a key: rejects what PostgreSQL's UTF-8 `text`
 * cannot hold (NUL anywhere, unpaired surrogates) and otherwise keeps the value exactly as
 * sent. Nothing is trimmed or normalised: astral characters, combining marks, right-to-left
 * text and surrounding whitespace are stored byte for byte, because an id or a name the
 * service rewrote is no longer the one the client will look up.
 *
 * Lengths count Unicode code points, not UTF-16 code units (`String.length`). A code point is
 * what PostgreSQL's `char_length` counts and what a `varchar(n)` limits, so a limit here means
 * the same thing in the database; counting code units would let an emoji or a CJK Extension B
 * character use up two places, turning the limit into an accident of JavaScript's encoding.
 * Grapheme clusters are not used either: where they split depends on the Unicode version of
 * the runtime, and a limit must not move with a Node upgrade.
 */
export function text(options: TextOptions) {
  const { min = 1, max, pattern, patternMessage } = options;
  return z.string().superRefine((value, ctx) => {
    const unstorable = unstorableText(value);
    if (unstorable !== undefined) {
      // Only this issue: a length or pattern verdict on text that cannot be stored is noise.
      ctx.addIssue({ code: 'invalid_format', format: 'storable-text', message: unstorable });
      return;
    }
    const length = codePointLength(value);
    if (length < min)
      ctx.addIssue({
        code: 'too_small',
        origin: 'string',
        minimum: min,
        inclusive: true,
        message: min === 1 ? 'must not be empty' : `must be at least ${min} characters`,
      });
    if (length > max)
      ctx.addIssue({
        code: 'too_big',
        origin: 'string',
        maximum: max,
        inclusive: true,
        message: `must be at most ${max} characters`,
      });
    if (pattern && !pattern.test(value))
      ctx.addIssue({
        code: 'invalid_format',
        format: 'regex',
        pattern: pattern.source,
        message: patternMessage ?? `must match ${pattern.source}`,
      });
  });
}

/**
 * The Idempotency-Key header: 1-200 visible ASCII characters, as an HTTP structured-field
 * string allows. Node decodes header bytes as Latin-1, so a key with other bytes would be
 * stored as different text from the one the client meant; refusing it keeps the key the client
 * retries with equal to the key the database holds.
 */
export const idempotencyKey = () =>
  text({
    max: 200,
    pattern: /^[\x21-\x7e]+$/,
    patternMessage: 'expected 1-200 visible ASCII characters',
  });

// Any number of digits: a value too large is refused as too large, not as a bad spelling.
const decimalWhole = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, 'expected a whole number in decimal digits')
    // Past what a double holds Number() says Infinity, which zod calls no number at all.
    .transform((digits) => Math.min(Number(digits), Number.MAX_VALUE))
    .pipe(z.number().min(min, { abort: true }).max(max, { abort: true }).int());

/**
 * A whole number sent as text, as a query parameter is: decimal digits only, so `1e2`, `0x10`,
 * ` 5` and `5.0` are refused naming the field, where `Number()` (and `z.coerce.number()`) would
 * quietly read them as 100, 16 and 5. Absent, it is `fallback`.
 */
export function wholeNumber(options: { min: number; max: number; fallback: number }) {
  return decimalWhole(options.min, options.max).default(options.fallback);
}

/** The same whole number as text, where absent means absent (a header a caller may omit). */
export function optionalWholeNumber(options: { min: number; max: number }) {
  return decimalWhole(options.min, options.max).optional();
}

/**
 * A UUID in one spelling, lower case. PostgreSQL's uuid type ignores case, but the same id is
 * also a Redis key, a sort key for lock order and text in an event, where `C934…` and `c934…`
 * are two strings: two orders naming one product in different cases would lock in opposite
 * orders and deadlock, and a read model keyed by one spelling would not find the other.
 */
export const uuid = () => z.uuid().transform((id) => id.toLowerCase());

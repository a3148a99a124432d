import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { codePointLength, idempotencyKey, issuesOf, text, wholeNumber } from '../src/http/index.ts';

const field = text({ max: 1000 });

// Every code point PostgreSQL can store (any scalar value but NUL; 'binary' never yields a
// lone surrogate), and whole graphemes with combining marks and joiners.
const storable = fc
  .oneof(
    fc.string({ unit: 'binary', minLength: 1, maxLength: 200 }),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 50 }),
  )
  .filter((value) => !value.includes('\u0000'));
const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((u) => String.fromCharCode(u));
// A lone surrogate that stays lone wherever it lands: a high one followed by a non-surrogate,
// or a low one preceded by one.
const unpaired = fc.oneof(
  fc.integer({ min: 0xd800, max: 0xdbff }).map((u) => `${String.fromCharCode(u)}x`),
  fc.integer({ min: 0xdc00, max: 0xdfff }).map((u) => `x${String.fromCharCode(u)}`),
);

describe('text fields that PostgreSQL can hold', () => {
  it('When a string is well-formed and has no NUL, then it comes back unchanged, whatever it holds', () => {
    fc.assert(
      fc.property(storable, (value) => {
        expect(field.parse(value)).toBe(value);
      }),
      { numRuns: 500 },
    );
  });

  it('When a string holds a NUL anywhere, then it is rejected', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string(), (before, after) => {
        const result = field.safeParse(`${before}\u0000${after}`);
        expect(result.success).toBe(false);
        expect(result.error?.issues[0]?.message).toMatch(/NUL/);
      }),
      { numRuns: 300 },
    );
  });

  it('When a string holds an unpaired surrogate anywhere, then it is rejected', () => {
    fc.assert(
      fc.property(storable, unpaired, storable, (before, lone, after) => {
        const result = field.safeParse(`${before}${lone}${after}`);
        expect(result.success).toBe(false);
        expect(result.error?.issues[0]?.message).toMatch(/surrogate/);
      }),
      { numRuns: 300 },
    );
    expect(field.safeParse('\ud83d').success).toBe(false);
    expect(field.safeParse('\ude00').success).toBe(false);
    // The two halves in the wrong order are two lone surrogates, not a pair.
    expect(field.safeParse('\ude00\ud83d').success).toBe(false);
    fc.assert(
      fc.property(loneSurrogate, (lone) => {
        expect(field.safeParse(lone).success).toBe(false);
      }),
    );
  });

  it('When astral, combining, right-to-left or whitespace-wrapped text is given, then it is kept byte for byte', () => {
    for (const value of [
      '😀 family: 👩‍👩‍👧‍👦',
      '𠜎𠜱𠝹 (CJK Extension B)',
      'e\u0301 vs \u00e9', // combining acute, then precomposed: not normalised into each other
      'שלום עולם',
      'مرحبا \u202eevil\u202c',
      '  padded\t\n',
      '\u200b\ufeff',
    ])
      expect(Buffer.from(field.parse(value))).toEqual(Buffer.from(value));
  });

  it('When lengths are checked, then they count code points, so an astral character is one', () => {
    const three = text({ max: 3 });
    expect(codePointLength('😀😀😀')).toBe(3);
    expect('😀😀😀'.length).toBe(6);
    expect(three.safeParse('😀😀😀').success).toBe(true);
    expect(three.safeParse('😀😀😀😀').success).toBe(false);
    expect(three.safeParse('e\u0301e\u0301').success).toBe(false); // four code points
    expect(text({ min: 2, max: 5 }).safeParse('😀').success).toBe(false);
    expect(field.safeParse('').success).toBe(false);
    expect(text({ min: 0, max: 5 }).parse('')).toBe('');
  });

  it('When a pattern is given, then the whole value must match it, with the given message', () => {
    const id = text({ max: 64, pattern: /^[\w.:-]+$/, patternMessage: 'expected an id' });
    expect(id.parse('cust-1:a.b')).toBe('cust-1:a.b');
    expect(id.safeParse('cust 1').error?.issues[0]?.message).toBe('expected an id');
  });

  it('When an Idempotency-Key is not 1-200 visible ASCII characters, then it is rejected', () => {
    const key = idempotencyKey();
    expect(key.parse('trip-1:reserve-flight')).toBe('trip-1:reserve-flight');
    // Latin-1 bytes as Node decodes them from a header: refused, not stored as other text.
    for (const bad of ['', 'a b', 'caf\u00e9', 'k\u0000', 'x'.repeat(201)])
      expect(key.safeParse(bad).success).toBe(false);
  });

  it('When a field inside a request is bad, then the issue names the field and says why', () => {
    const body = z.object({ customer: z.object({ name: text({ max: 10 }) }) });
    const result = body.safeParse({ customer: { name: 'a\u0000b' } });
    expect(result.success).toBe(false);
    expect(issuesOf('body', result.error!)).toEqual([
      {
        path: 'body.customer.name',
        code: 'invalid_format',
        message: 'must not contain U+0000 (NUL), which PostgreSQL text cannot store',
      },
    ]);
  });
});

describe('whole numbers in a query string', () => {
  const limit = wholeNumber({ min: 1, max: 200, fallback: 20 });

  it('When the value is decimal digits within the range, then it is that number, and absent it is the fallback', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), (n) => {
        expect(limit.parse(String(n))).toBe(n);
      }),
    );
    expect(limit.parse('007')).toBe(7);
    expect(limit.parse(undefined)).toBe(20);
  });

  it('When the value is another spelling of a number, or out of range, then it is refused', () => {
    // Each of these is a number to Number(): 100, 16, 5, 5, 5, 0 and 2.
    for (const bad of ['1e2', '0x10', ' 5', '5 ', '5.0', '', '+2', '0', '201', '-1'])
      expect(limit.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
  });

  it('When the digits make a number past the range, however many, then the refusal says it is too big', () => {
    for (const big of ['201', '99999999999999999999', '9'.repeat(400)]) {
      const result = limit.safeParse(big);
      expect(result.success, big).toBe(false);
      expect(
        result.error?.issues.map((i) => i.code),
        big,
      ).toEqual(['too_big']);
    }
  });
});

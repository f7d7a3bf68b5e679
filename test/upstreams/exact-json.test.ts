import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InexactNumberError, parseExactJson } from '../../src/upstreams/exact-json.ts';

function refusal(text: string): InexactNumberError {
  try {
    parseExactJson(text);
  } catch (error) {
    expect(error).toBeInstanceOf(InexactNumberError);
    return error as InexactNumberError;
  }
  throw new Error(`parseExactJson accepted ${text}`);
}

describe('parseExactJson', () => {
  it('parses integers exactly as JSON.parse does', () => {
    const text = '{"a":[0,-1,2090,9007199254740991,-9007199254740991],"b":{"c":null,"d":"1.5","e":true}}';
    expect(parseExactJson(text)).toEqual(JSON.parse(text));
  });

  it.each([
    ['1000.00000000000001', 'minor'],
    ['9007199254740992', 'minor'],
    ['-9007199254740992', 'minor'],
    ['100.0', 'minor'],
    ['1e3', 'minor'],
    ['0.5', 'minor'],
  ])('refuses %s, naming it and its path', (literal, path) => {
    const error = refusal(`{"minor":${literal},"currency":"CNY"}`);
    expect(error.literal).toBe(literal);
    expect(error.path).toBe(path);
    expect(error.message).toBe(`must be an integer without fraction or exponent, at most 2^53 − 1 in size, but got: ${literal}`);
  });

  it('names the first offending number by its path through objects and arrays', () => {
    const error = refusal('{"quotes":[{"discounts":[{"amount":{"minor":5}},{"amount":{"minor":5.5}}]}],"x":1.5}');
    expect(error.path).toBe('quotes.0.discounts.1.amount.minor');
    expect(error.literal).toBe('5.5');
  });

  it('judges a bare number as a whole answer too', () => {
    expect(refusal('\n1.5\n').path).toBe('(root)');
    expect(parseExactJson('42')).toBe(42);
  });

  it('leaves numbers inside strings alone', () => {
    expect(parseExactJson('{"t":"[9.9包邮] x:1.5, 1e3 12345678901234567890"}')).toEqual({ t: '[9.9包邮] x:1.5, 1e3 12345678901234567890' });
  });

  it('throws a SyntaxError, not an InexactNumberError, for text that is not JSON', () => {
    expect(() => parseExactJson('{"minor":1.5,')).toThrow(SyntaxError);
    expect(() => parseExactJson('{"minor":01}')).toThrow(SyntaxError);
  });

  // The regular expression that lets most answers skip the exact path must never clear one
  // the rule refuses: checked against literals the generator knows, in every JSON position,
  // with whitespace and look-alike strings around them.
  it('accepts an answer exactly when every number in it is written as a safe integer', () => {
    const integer = fc.oneof(
      fc.integer({ min: -1e6, max: 1e6 }),
      fc.constantFrom(Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 1e15, 999_999_999_999_999),
    );
    const literal = fc.oneof(
      integer.map(String),
      fc.stringMatching(/^-?(0|[1-9]\d{0,19})(\.\d{1,20})?([eE][+-]?\d{1,2})?$/),
      fc.constantFrom('9007199254740992', '9007199254740993', '1000.00000000000001', '100.0', '1e3', '1E3', '-0', '0.0'),
    );
    const space = fc.constantFrom('', ' ', '\n', '\t ');
    const text = fc.string().map((s) => JSON.stringify(s));
    const lookAlike = fc.constantFrom('"[9.9]"', '":1.5"', '",1e3"', '"12345678901234567"', '"sku-9e26"');
    const { value } = fc.letrec<{ value: { text: string; literals: string[] } }>((tie) => ({
      value: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        literal.map((l) => ({ text: l, literals: [l] })),
        fc.oneof(text, lookAlike, fc.constantFrom('true', 'false', 'null')).map((t) => ({ text: t, literals: [] })),
        fc.array(fc.tuple(space, tie('value'), space), { maxLength: 4 }).map((items) => ({
          text: `[${items.map(([a, v, b]) => a + v.text + b).join(',')}]`,
          literals: items.flatMap(([, v]) => v.literals),
        })),
        // Unique keys: a value under a repeated key is dropped by JSON.parse, so it is never judged.
        fc.uniqueArray(fc.tuple(fc.oneof(text, lookAlike), space, tie('value')), { maxLength: 4, selector: ([k]) => k }).map((entries) => ({
          text: `{${entries.map(([k, s, v]) => `${k}${s}:${s}${v.text}`).join(',')}}`,
          literals: entries.flatMap(([, , v]) => v.literals),
        })),
      ),
    }));
    fc.assert(
      fc.property(value, space, ({ text: json, literals }, pad) => {
        const exact = literals.every((l) => /^-?\d+$/.test(l) && Number.isSafeInteger(Number(l)));
        const answer = pad + json + pad;
        if (exact) expect(parseExactJson(answer)).toEqual(JSON.parse(answer));
        else expect(() => parseExactJson(answer)).toThrow(InexactNumberError);
      }),
      { numRuns: 2000 },
    );
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { FIXTURE_USER_IDS } from '../../src/demo-upstreams/data.ts';
import { DEMO_SERVICES } from '../../src/demo-upstreams/services.ts';
import { cartSchema, currencySchema, minorUnitsSchema, nonNegativeMoneySchema, wireMoneySchema } from '../../src/upstreams/contracts.ts';
import type { UpstreamSelection } from '../../src/upstreams/definition.ts';
import { UPSTREAM_DEFINITIONS } from '../../src/upstreams/registry.ts';
import { answerCheck, CARRIED, compileAnswerChecks, jsonSchemaOf, refinedAs } from '../../src/upstreams/wire-check.ts';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** What each demo upstream answers a fixture user, for the cart's selected lines: real answers to mutate. */
function demoAnswers(): Array<{ upstream: string; contract: z.ZodType; answer: Json }> {
  const answers: Array<{ upstream: string; contract: z.ZodType; answer: Json }> = [];
  for (const userId of FIXTURE_USER_IDS) {
    const cart = cartSchema.parse(JSON.parse(DEMO_SERVICES.cart(userId as never).body.toString('utf8')));
    const lines = cart.lines.filter((line) => line.selected).map(({ skuId, quantity }) => ({ skuId, quantity }));
    const selection: UpstreamSelection = { lines: [...lines].sort((a, b) => a.skuId.localeCompare(b.skuId)), currency: cart.currency };
    for (const definition of UPSTREAM_DEFINITIONS) {
      const reply = DEMO_SERVICES[definition.name](definition.toRequest(userId, [selection]) as never);
      if (reply.status !== 200) continue;
      answers.push({ upstream: definition.name, contract: definition.response, answer: JSON.parse(reply.body.toString('utf8')) as Json });
    }
  }
  return answers;
}

const ANSWERS = demoAnswers();

/** Every place in `value` a mutation can hit: the path to it. */
function paths(value: Json, at: Array<string | number> = []): Array<Array<string | number>> {
  const found = [at];
  if (Array.isArray(value)) value.forEach((item, i) => found.push(...paths(item, [...at, i])));
  else if (value !== null && typeof value === 'object') for (const [key, item] of Object.entries(value)) found.push(...paths(item, [...at, key]));
  return found;
}

/** Values an upstream might get wrong: types, signs, fractions, sizes, currencies, empty strings. */
const WRONG_VALUES = fc.oneof(
  fc.jsonValue() as fc.Arbitrary<Json>,
  fc.constantFrom<Json>(-1, 0, 1, 1.5, -0.5, 2 ** 53, 2 ** 53 - 1, -(2 ** 53), 1e300, '', 'CNY', 'JPY', 'XYZ', 'HRK', 'cny', 'instant', 'coupon', 'plus', 'none', null, true, [], {}),
);

type Mutation = { kind: 'replace'; at: number; value: Json } | { kind: 'remove'; at: number } | { kind: 'extra'; at: number; key: string; value: Json };

const MUTATION: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), value: WRONG_VALUES }),
  fc.record({ kind: fc.constant('remove' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('extra' as const), at: fc.nat(), key: fc.oneof(fc.string(), fc.constantFrom('minor', 'currency', '__proto__', 'constructor')), value: fc.jsonValue() as fc.Arbitrary<Json> }),
);

/** `answer` with `mutations` applied, each at the path its number picks; `answer` and the mutations' values are left as they were. */
function mutated(answer: Json, mutations: readonly Mutation[]): Json {
  let root = structuredClone(answer);
  for (const generated of mutations) {
    // A copy of the value: the arbitrary's own may be shared with other mutations and runs.
    const mutation = 'value' in generated ? { ...generated, value: structuredClone(generated.value) } : generated;
    const all = paths(root);
    const path = all[mutation.at % all.length]!;
    const parent = path.slice(0, -1).reduce<Json>((node, key) => (node as Record<string | number, Json>)[key]!, root);
    const key = path[path.length - 1];
    if (mutation.kind === 'extra') {
      const node = key === undefined ? root : (parent as Record<string | number, Json>)[key]!;
      if (node !== null && typeof node === 'object' && !Array.isArray(node)) Object.defineProperty(node, mutation.key, { value: mutation.value, enumerable: true, writable: true, configurable: true });
    } else if (key === undefined) {
      if (mutation.kind === 'replace') root = mutation.value;
    } else if (mutation.kind === 'replace') {
      (parent as Record<string | number, Json>)[key] = mutation.value;
    } else if (Array.isArray(parent)) {
      parent.splice(key as number, 1);
    } else {
      delete (parent as Record<string, Json>)[key];
    }
  }
  return root;
}

describe('the compiled check of upstream answers', () => {
  it('has real demo answers of every upstream to check', () => {
    expect(new Set(ANSWERS.map((a) => a.upstream))).toEqual(new Set(UPSTREAM_DEFINITIONS.map((d) => d.name)));
  });

  it('accepts every demo answer as it is: the same object, equal to what zod makes of it', () => {
    for (const { contract, answer } of ANSWERS) {
      const copy = structuredClone(answer);
      expect(answerCheck(contract)(copy)).toBe(true);
      expect(copy).toEqual(contract.parse(answer));
    }
  });

  it('mutates a copy of each generated value, never the value itself (fast-check hands the same constant to every run)', () => {
    // fc.constantFrom's `{}` is one object for every run, and shrinking shares parts of values:
    // written into the answer as it is, a later mutation edited it, and a value placed inside
    // itself made a cycle (CI: "Maximum call stack size exceeded" in paths(), after 1290 runs).
    const shared: Json = { a: [1] };
    const broken = mutated({ x: 1 }, [
      { kind: 'replace', at: 0, value: shared },
      { kind: 'replace', at: 1, value: shared },
      { kind: 'extra', at: 0, key: 'added', value: shared },
    ]);
    expect(shared).toEqual({ a: [1] });
    expect(broken).toEqual({ a: { a: [1] }, added: { a: [1] } });
    expect(paths(broken)).toHaveLength(7);
  });

  it('agrees with zod on broken answers: refuses what zod refuses, and what it accepts equals zod’s output', () => {
    fc.assert(
      fc.property(fc.nat(ANSWERS.length - 1), fc.array(MUTATION, { minLength: 1, maxLength: 3 }), (which, mutations) => {
        const { contract, answer } = ANSWERS[which]!;
        const broken = mutated(answer, mutations);
        const checked = structuredClone(broken);
        const accepted = answerCheck(contract)(checked);
        const parsed = contract.safeParse(structuredClone(broken));
        expect(accepted).toBe(parsed.success);
        if (parsed.success) expect(checked).toEqual(parsed.data);
      }),
      { numRuns: 3000 },
    );
  });

  it('removes keys the contract does not name, in place, as zod leaves them out', () => {
    const answer = { userId: 'u1', currency: 'CNY', lines: [{ skuId: 's', title: 't', quantity: 1, unitPrice: { minor: 5, currency: 'CNY', fx: 1 }, selected: true, x: 1 }], trace: 'abc' };
    expect(answerCheck(cartSchema)(answer)).toBe(true);
    expect(answer).toEqual({ userId: 'u1', currency: 'CNY', lines: [{ skuId: 's', title: 't', quantity: 1, unitPrice: { minor: 5, currency: 'CNY' }, selected: true }] });
  });

  it.each([
    ['an unknown currency', { minor: 1, currency: 'XYZ' }],
    ['a negative amount', { minor: -1, currency: 'CNY' }],
    ['a fraction', { minor: 1.5, currency: 'CNY' }],
    ['an amount beyond 2^53 − 1', { minor: 2 ** 53, currency: 'CNY' }],
  ])('refuses %s, as each refinement of the money contract does', (_what, unitPrice) => {
    const answer = { userId: 'u1', currency: 'CNY', lines: [{ skuId: 's', title: 't', quantity: 1, unitPrice, selected: true }] };
    expect(cartSchema.safeParse(answer).success).toBe(false);
    expect(answerCheck(cartSchema)(structuredClone(answer))).toBe(false);
  });

  it('will not compile a contract whose refinement has no declared JSON Schema: it would accept what zod refuses', () => {
    const contract = z.object({ even: z.number().refine((n) => n % 2 === 0) });
    expect(() => answerCheck(contract)).toThrow(/refinement without a JSON Schema equivalent at even \({"type":"number"}\): declare it with refinedAs\(\)/);
  });

  it('compiles a declared refinement into the check', () => {
    const even = refinedAs(z.number().refine((n) => n % 2 === 0), (node) => Object.assign(node, { multipleOf: 2 }));
    const check = answerCheck(z.object({ even }));
    expect([check({ even: 4 }), check({ even: 3 })]).toEqual([true, false]);
  });

  it('will not compile what it would judge differently from zod: a union of objects, a transform', () => {
    expect(() => jsonSchemaOf(z.union([z.object({ a: z.string() }), z.object({ b: z.string() })]))).toThrow(/union of objects/);
    expect(() => jsonSchemaOf(z.string().transform((s) => s.length))).toThrow();
  });

  it('names the field of the contract it cannot stand for, and the upstream whose contract it is', () => {
    expect(() => jsonSchemaOf(z.object({ card: z.object({ userId: z.string().min(1).regex(/^u/i) }) }))).toThrow(/^an upstream contract has a \.regex\(\) with flags \(\/\^u\/i\) at card\.userId, /);
    expect(() => jsonSchemaOf(z.object({ lines: z.array(z.object({ sku: z.string().transform((s) => s.trim()) })) }))).toThrow(/^an upstream contract has a pipe \(a \.transform\(\) or \.pipe\(\)\) at lines\[\]\.sku, /);
    expect(() => jsonSchemaOf(z.object({ even: z.number().refine((n) => n % 2 === 0) }))).toThrow(/^an upstream contract has a refinement without a JSON Schema equivalent at even /);
    const giftcard = { name: 'giftcard', response: z.object({ userId: z.email() }) };
    expect(() => compileAnswerChecks([giftcard])).toThrow(/^upstream "giftcard", its response contract: an upstream contract has a string format \(email\) at userId, /);
  });
});

/** An object with `entries` as own properties, `__proto__` included (a JSON answer can have one). */
function objectOf(entries: ReadonlyArray<readonly [string, Json]>): Json {
  const object: { [key: string]: Json } = {};
  for (const [key, value] of entries) Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
  return object;
}

/** Strings where Ajv and zod could part: blanks, case, astral characters (two UTF-16 units, one code point), lone surrogates, line breaks. */
const EDGE_STRINGS = ['', ' ', '   ', 'a', 'ab', 'abc', 'b', 'A', 'ABC', '🍎', '🍎🍎', 'a🍎', '\uD83C', 'a\uDF4E', '\uDF4E\uD83C', '\n', 'a\nb', 'é', 'e\u0301', 'CNY', 'JPY', 'XYZ', 'cny', 'plus', 'none'];
/** Numbers where they could part: signs, zero's sign, fractions, the edges of int32, uint32, float32 and safe integers, non-finite ones. */
const EDGE_NUMBERS = [
  0, -0, 1, -1, 2, 5, -5, 1.5, -0.5, 0.1, 0.3, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), -(2 ** 31) - 1, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, 2 ** 53, -(2 ** 53 - 1), -(2 ** 53), 1e21,
  3.4028234663852886e38, 3.5e38, -3.5e38, Number.MAX_VALUE, Number.MIN_VALUE, Infinity, -Infinity, NaN,
];
const LEAF: fc.Arbitrary<Json> = fc.oneof(
  fc.constantFrom<Json>(...EDGE_STRINGS),
  fc.string({ unit: 'grapheme', maxLength: 4 }),
  fc.string({ unit: 'binary', maxLength: 4 }),
  fc.constantFrom<Json>(...EDGE_NUMBERS),
  fc.double(),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
);
/** The keys the catalogue's contracts name (`a` most), a few more, and `constructor` and `__proto__`. */
const KEYS = ['a', 'a', 'b', 'c', 'minor', 'currency', 'constructor', '__proto__'];

/** JSON-like values near the catalogue's contracts: its keys, and edge strings and numbers at any depth. */
const NEAR_JSON: fc.Arbitrary<Json> = fc.letrec<{ value: Json; array: Json[]; object: Json }>((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, LEAF, tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 4 }),
  object: fc.array(fc.tuple(fc.constantFrom(...KEYS), tie('value')), { maxLength: 5 }).map(objectOf),
})).value;

/** Whether `value` holds, at any depth, an object with an own `__proto__` key. */
function hasOwnProto(value: Json): boolean {
  if (value === null || typeof value !== 'object') return false;
  return (!Array.isArray(value) && Object.hasOwn(value, '__proto__')) || Object.values(value).some(hasOwnProto);
}

/** Where the check is stricter than zod, on purpose: it may refuse an answer zod accepts (zod then decides), and only then. */
interface Stricter {
  readonly why: string;
  readonly when: (answer: Json) => boolean;
}
const REFUSES_PROTO: Stricter = { why: 'a catchall skips an own __proto__ key in zod; the check refuses it', when: hasOwnProto };

/**
 * Each zod feature the compiled check carries (CARRIED), in a contract of its own, over the keys
 * NEAR_JSON uses; the two must agree exactly, but where `stricter` says.
 */
const CATALOGUE: ReadonlyArray<{ readonly feature: string; readonly contract: z.ZodType; readonly stricter?: Stricter }> = [
  { feature: 'z.string()', contract: z.string() },
  { feature: 'a string .min()', contract: z.string().min(2) },
  { feature: 'a string .max()', contract: z.string().max(2) },
  { feature: 'a string .length()', contract: z.string().length(2) },
  { feature: 'a string .min() and .max()', contract: z.string().min(1).max(3) },
  { feature: 'a .regex() without flags', contract: z.string().regex(/^.{1,2}$/) },
  { feature: 'two .regex() and a .min()', contract: z.string().min(1).regex(/^[a-z]*$/).regex(/b/) },
  { feature: 'a .regex() of classes and escapes', contract: z.string().regex(/^[^a-z]\w?\s*$/) },
  { feature: 'z.number()', contract: z.number() },
  { feature: '.int()', contract: z.number().int() },
  { feature: 'z.int()', contract: z.int() },
  { feature: 'z.int32()', contract: z.int32() },
  { feature: 'z.uint32()', contract: z.uint32() },
  { feature: 'z.float32()', contract: z.float32() },
  { feature: 'z.float64()', contract: z.float64() },
  { feature: '.positive()', contract: z.number().positive() },
  { feature: '.nonnegative()', contract: z.number().nonnegative() },
  { feature: '.negative()', contract: z.number().negative() },
  { feature: '.nonpositive()', contract: z.number().nonpositive() },
  { feature: '.gt() and .lt()', contract: z.number().gt(1).lt(2) },
  { feature: '.min() and .max() on a number', contract: z.number().int().min(-5).max(5) },
  { feature: 'z.boolean()', contract: z.boolean() },
  { feature: 'z.null()', contract: z.null() },
  { feature: 'a string z.literal()', contract: z.literal('a') },
  { feature: 'a number z.literal()', contract: z.literal(0) },
  { feature: 'a z.literal() of several values', contract: z.literal([null, true, 'CNY', 1]) },
  { feature: 'z.enum()', contract: z.enum(['plus', 'none']) },
  { feature: 'a z.enum() of numbers', contract: z.enum({ one: 1, two: 2 }) },
  { feature: 'z.object(), which strips other keys', contract: z.object({ a: z.number(), b: z.string().optional() }) },
  { feature: 'z.object() within z.object()', contract: z.object({ a: z.object({ b: z.number() }), c: z.array(z.object({ a: z.boolean() })).optional() }) },
  { feature: 'z.strictObject(), which refuses other keys', contract: z.strictObject({ a: z.number(), b: z.string().optional() }) },
  { feature: 'z.strictObject() within z.object()', contract: z.object({ a: z.strictObject({ b: z.number() }).optional() }) },
  { feature: 'z.looseObject(), which keeps other keys', contract: z.looseObject({ a: z.number() }), stricter: REFUSES_PROTO },
  { feature: '.catchall(), which checks other keys', contract: z.object({ a: z.number() }).catchall(z.number()), stricter: REFUSES_PROTO },
  { feature: '.catchall() of objects', contract: z.object({ a: z.string() }).catchall(z.object({ b: z.number() })), stricter: REFUSES_PROTO },
  { feature: 'z.array()', contract: z.array(z.number()) },
  { feature: 'an array .min()', contract: z.array(z.unknown()).min(1) },
  { feature: 'an array .max()', contract: z.array(z.unknown()).max(2) },
  { feature: 'an array .length()', contract: z.array(z.unknown()).length(2) },
  { feature: 'an array of objects', contract: z.array(z.object({ a: z.number() })) },
  { feature: '.optional()', contract: z.object({ a: z.string().optional(), b: z.object({ c: z.number() }).optional() }) },
  { feature: '.nullable()', contract: z.string().nullable() },
  { feature: '.nullable() of an object', contract: z.object({ a: z.object({ b: z.number() }).nullable() }) },
  { feature: '.nullish()', contract: z.object({ a: z.number().nullish() }) },
  { feature: 'a union of scalars', contract: z.union([z.string().regex(/^a/), z.number().int(), z.boolean()]) },
  { feature: 'a union of one object and scalars', contract: z.union([z.object({ a: z.number() }), z.string(), z.null()]) },
  { feature: 'a union of one array of objects and scalars', contract: z.union([z.array(z.object({ a: z.number() })), z.number()]) },
  { feature: 'a union of one object and arrays of scalars', contract: z.union([z.strictObject({ a: z.number() }), z.array(z.string())]) },
  { feature: 'z.xor()', contract: z.xor([z.string(), z.string().regex(/^a/), z.number()]) },
  { feature: 'z.any()', contract: z.object({ a: z.any() }) },
  { feature: 'z.unknown()', contract: z.unknown() },
  { feature: 'z.never()', contract: z.object({ a: z.never().optional() }) },
  { feature: 'a declared refinement: minor units', contract: minorUnitsSchema },
  { feature: 'a declared refinement: a currency', contract: currencySchema },
  { feature: 'money', contract: wireMoneySchema },
  { feature: 'a declared refinement of an object: money not negative', contract: z.object({ a: nonNegativeMoneySchema, b: nonNegativeMoneySchema.nullable() }) },
  { feature: 'declared refinements in any order: minor units, money, money not negative', contract: z.object({ a: minorUnitsSchema, b: wireMoneySchema, c: nonNegativeMoneySchema.optional() }) },
];

/** Every zod type (`string`) and type with a check (`string min_length`) `contract` uses. */
function featuresOf(contract: z.ZodType): Set<string> {
  const found = new Set<string>();
  z.toJSONSchema(contract, {
    io: 'input',
    override: ({ zodSchema }) => {
      const def = (zodSchema as unknown as z.ZodType)._zod.def;
      found.add(def.type);
      if ((zodSchema as unknown as z.ZodType)._zod.traits.has('$ZodCheck')) found.add(`${def.type} ${(def as unknown as { check: string }).check}`);
      for (const check of def.checks ?? []) if (check._zod.def.check !== 'custom') found.add(`${def.type} ${check._zod.def.check}`);
    },
  });
  return found;
}

/** What zod makes of `answer`: its verdict, and its output when it accepts. */
function zodOf(contract: z.ZodType, answer: Json): { accepted: boolean; data?: unknown } {
  const parsed = contract.safeParse(structuredClone(answer));
  return parsed.success ? { accepted: true, data: parsed.data } : { accepted: false };
}

/** The compiled check's verdict on a copy of `answer`, and the copy as the check left it; 'contract refused' when it will not compile. */
function compiledOf(contract: z.ZodType, answer: Json): { accepted: boolean; left: Json } | 'contract refused' {
  let check: ReturnType<typeof answerCheck>;
  try {
    check = answerCheck(contract);
  } catch {
    return 'contract refused';
  }
  const left = structuredClone(answer);
  return { accepted: check(left), left };
}

describe('the compiled check is never more lenient than zod', () => {
  it.each<[string, z.ZodType, Json]>([
    ['a z.strictObject() with a key it does not name', z.strictObject({ a: z.number() }), { a: 1, b: 2 }],
    ['a .catchall(z.number()) with a string', z.object({ a: z.number() }).catchall(z.number()), { a: 1, b: 'x' }],
    ['a .regex(/^.{1,2}$/) on two astral characters', z.object({ s: z.string().regex(/^.{1,2}$/) }), { s: '🍎🍎' }],
    // zod counts code points (a surrogate pair once), as Ajv does: four of them, eight UTF-16 units.
    ['a .max(3) on four astral characters', z.object({ s: z.string().max(3) }), { s: '🍎🍎🍎🍎' }],
    ['a .length(2) on three code points, one of them astral', z.object({ s: z.string().length(2) }), { s: 'a🍎b' }],
    ['a .trim().min(1) on blanks', z.object({ s: z.string().trim().min(1) }), { s: '   ' }],
    // The refinement's node shares its `minor` with minor units seen first, whose own declaration then ran last.
    ['a negative amount, where minor units come before money that must not be negative', z.object({ a: minorUnitsSchema, b: nonNegativeMoneySchema }), { a: 1, b: { minor: -1, currency: 'CNY' } }],
  ])('refuses, or refuses the contract at start: %s', (_what, contract, answer) => {
    expect(contract.safeParse(answer).success).toBe(false);
    const compiled = compiledOf(contract, answer);
    expect(compiled === 'contract refused' || !compiled.accepted, 'the compiled check accepted an answer zod refuses').toBe(true);
  });

  it('has a generated comparison for every zod type and check it carries', () => {
    const exercised = new Set(CATALOGUE.flatMap(({ contract }) => [...featuresOf(contract)]));
    const carried = [...CARRIED].flatMap(([type, checks]) => [type, ...checks.map((check) => `${type} ${check}`)]);
    expect(carried.filter((feature) => !exercised.has(feature))).toEqual([]);
  });

  it.each(CATALOGUE.map((entry) => [entry.feature, entry] as const))('judges generated answers as zod does: %s', (_feature, { contract, stricter }) => {
    expect(() => answerCheck(contract)).not.toThrow();
    fc.assert(
      fc.property(NEAR_JSON, (answer) => {
        const zod = zodOf(contract, answer);
        const compiled = compiledOf(contract, answer);
        if (compiled === 'contract refused') throw new Error('unreachable: compiled above');
        if (compiled.accepted) {
          // Used as the check left it: it must be what zod's parse makes of it.
          expect(zod.accepted, 'the compiled check accepted an answer zod refuses').toBe(true);
          expect(compiled.left).toEqual(zod.data);
        } else {
          if (stricter === undefined || !stricter.when(answer)) expect(zod.accepted, 'the compiled check refused an answer zod accepts').toBe(false);
          // zod then decides, on what the check left: the keys it removed on the way must not change that.
          expect(zodOf(contract, compiled.left)).toEqual(zod);
        }
      }),
      { numRuns: 400 },
    );
  });

  it.each<[string, z.ZodType, RegExp]>([
    ['a .trim()', z.string().trim().min(1), /a \.trim\(\), \.toLowerCase\(\), \.toUpperCase\(\), \.normalize\(\) or other \.overwrite\(\) at card\.field, /],
    ['a .toLowerCase()', z.string().toLowerCase(), /other \.overwrite\(\) at card\.field, /],
    ['a string format', z.email(), /a string format \(email\) at card\.field, .*write it as a \.regex\(\) without flags/],
    ['a .startsWith()', z.string().startsWith('a'), /a string format \(starts_with\) at card\.field, /],
    ['a .lowercase()', z.string().lowercase(), /a string format \(lowercase\) at card\.field, /],
    ['a .regex() with the i flag', z.string().regex(/^[^a-z]+$/i), /a \.regex\(\) with flags \(\/\^\[\^a-z\]\+\$\/i\) at card\.field, /],
    ['a .regex() with the u flag', z.string().regex(/^.$/u), /a \.regex\(\) with flags .* at card\.field, /],
    ['a .multipleOf()', z.number().multipleOf(0.1), /a \.multipleOf\(\) at card\.field, /],
    ['a z.coerce', z.coerce.number(), /a z\.coerce\.number\(\) at card\.field, /],
    ['a z.record()', z.record(z.string(), z.number()), /a z\.record\(\) at card\.field, /],
    ['a z.tuple()', z.tuple([z.string(), z.number()]), /a z\.tuple\(\) at card\.field, /],
    ['an intersection', z.object({ a: z.number() }).and(z.object({ b: z.number() })), /an intersection \(\.and\(\)\) at card\.field, /],
    ['a z.templateLiteral()', z.templateLiteral(['sku-', z.number()]), /a z\.templateLiteral\(\) at card\.field, /],
    ['a .transform()', z.string().transform((s) => s.length), /a pipe \(a \.transform\(\) or \.pipe\(\)\) at card\.field, /],
    ['a .pipe()', z.string().pipe(z.string().min(3)), /a pipe \(a \.transform\(\) or \.pipe\(\)\) at card\.field, /],
    ['a .default()', z.string().default('x'), /a default \(a \.default\(\)\) at card\.field, /],
    ['a .catch()', z.string().catch('x'), /a catch \(a \.catch\(\)\) at card\.field, /],
    ['a .readonly()', z.array(z.string()).readonly(), /a readonly \(a \.readonly\(\)\) at card\.field, /],
    ['a key named __proto__', z.object({ ['__proto__']: z.string() }), /a key named "__proto__" at card\.field, /],
    [
      'a refinedAs() that changes a field within its node',
      refinedAs(z.object({ n: z.number() }).refine((o) => o.n > 0), (node) => Object.assign((node.properties as Record<string, object>).n!, { exclusiveMinimum: 0 })),
      /a refinement whose refinedAs\(\) declaration changes the schemas within its node \(properties\) at card\.field, /,
    ],
    ['an undeclared .refine()', z.number().refine((n) => n % 2 === 0), /a refinement without a JSON Schema equivalent at card\.field /],
    ['a union of objects', z.union([z.object({ a: z.string() }), z.object({ b: z.string() })]), /a union of objects at card\.field /],
    ['a discriminated union', z.discriminatedUnion('kind', [z.object({ kind: z.literal('a') }), z.object({ kind: z.literal('b') })]), /a union of objects at card\.field /],
    ['a union of an object and a loose object', z.union([z.object({ a: z.string() }), z.looseObject({})]), /a union of objects at card\.field /],
    ['a union of an array of objects and anything', z.union([z.array(z.object({ a: z.string() })), z.unknown()]), /a union of objects at card\.field /],
  ])('refuses a contract with %s at start, naming the field and the feature', (_what, field, message) => {
    const contract = z.object({ card: z.object({ field }) });
    expect(() => jsonSchemaOf(contract)).toThrow(message);
    expect(() => compileAnswerChecks([{ name: 'giftcard', response: contract }])).toThrow(/^upstream "giftcard", its response contract: an upstream contract has /);
  });

  it('compiles every shipped contract', () => {
    expect(() => compileAnswerChecks(UPSTREAM_DEFINITIONS)).not.toThrow();
  });
});

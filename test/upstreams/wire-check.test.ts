import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { FIXTURE_USER_IDS } from '../../src/demo-upstreams/data.ts';
import { DEMO_SERVICES } from '../../src/demo-upstreams/services.ts';
import { cartSchema } from '../../src/upstreams/contracts.ts';
import type { UpstreamSelection } from '../../src/upstreams/definition.ts';
import { UPSTREAM_DEFINITIONS } from '../../src/upstreams/registry.ts';
import { answerCheck, compileAnswerChecks, jsonSchemaOf, refinedAs } from '../../src/upstreams/wire-check.ts';

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

  it('will not compile what it would judge differently from zod: a maximum string length, a union of objects, a transform', () => {
    expect(() => jsonSchemaOf(z.object({ name: z.string().max(3) }))).toThrow(/maximum string length/);
    expect(() => jsonSchemaOf(z.union([z.object({ a: z.string() }), z.object({ b: z.string() })]))).toThrow(/union of objects/);
    expect(() => jsonSchemaOf(z.string().transform((s) => s.length))).toThrow();
  });

  it('names the field of the contract it cannot stand for, and the upstream whose contract it is', () => {
    expect(() => jsonSchemaOf(z.object({ card: z.object({ userId: z.string().min(1).max(64) }) }))).toThrow(/^an upstream contract has a maximum string length at card\.userId, /);
    expect(() => jsonSchemaOf(z.object({ lines: z.array(z.object({ sku: z.string().transform((s) => s.trim()) })) }))).toThrow(/^an upstream contract has a pipe \(a \.transform\(\) or \.pipe\(\)\) at lines\[\]\.sku, /);
    expect(() => jsonSchemaOf(z.object({ even: z.number().refine((n) => n % 2 === 0) }))).toThrow(/^an upstream contract has a refinement without a JSON Schema equivalent at even /);
    const giftcard = { name: 'giftcard', response: z.object({ userId: z.string().max(64) }) };
    expect(() => compileAnswerChecks([giftcard])).toThrow(/^upstream "giftcard", its response contract: an upstream contract has a maximum string length at userId, /);
  });
});

import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.ts';
import type { FloorBuilder } from '../../src/floors/builder.ts';
import { defaultBuilders } from '../../src/floors/builders/index.ts';
import { createBuilderRegistry } from '../../src/floors/registry.ts';
import { UPSTREAMS } from '../../src/upstreams/registry.ts';
import { thrownBy } from '../support/thrown.ts';

function builder(overrides: Partial<FloorBuilder> = {}): FloorBuilder {
  return {
    name: 'sample',
    description: 'a test builder',
    kind: 'INFO',
    needs: ['settlement'],
    templateVars: ['amount'],
    build: () => ({ amount: null }),
    ...overrides,
  };
}

/** A builder object with a field the type checker would not allow, as plugin code might hand over. */
function malformedBuilder(fields: Record<string, unknown>): FloorBuilder {
  return { ...builder(), ...fields } as unknown as FloorBuilder;
}


describe('createBuilderRegistry', () => {
  it('finds each builder by its name', () => {
    const a = builder({ name: 'alpha' });
    const b = builder({ name: 'beta' });
    const registry = createBuilderRegistry([a, b]);
    expect(registry.get('alpha')).toBe(a);
    expect(registry.get('beta')).toBe(b);
    expect(registry.has('beta')).toBe(true);
    expect(registry.has('gamma')).toBe(false);
    expect(registry.get('gamma')).toBeUndefined();
  });

  it('lists the names sorted, whatever the registration order', () => {
    const registry = createBuilderRegistry([builder({ name: 'shipping' }), builder({ name: 'coupon' }), builder({ name: 'lj' })]);
    expect(registry.names).toEqual(['coupon', 'lj', 'shipping']);
  });

  it('is frozen: its names, itself and the builders it holds cannot be changed', () => {
    const registry = createBuilderRegistry([builder({ name: 'alpha' })]);
    expect(Object.isFrozen(registry)).toBe(true);
    expect(Object.isFrozen(registry.names)).toBe(true);
    expect(Object.isFrozen(registry.get('alpha'))).toBe(true);
    expect(() => (registry.names as string[]).push('beta')).toThrow(TypeError);
  });

  it('refuses a second builder under the same name, naming it', () => {
    const error = thrownBy(() =>
      createBuilderRegistry([builder({ name: 'coupon' }), builder({ name: 'lj' }), builder({ name: 'coupon' })]),
    );
    expect(error.code).toBe(ErrorCode.BUILDER_DUPLICATE);
    expect(error.message).toBe('builder names must be unique, but "coupon" is registered twice (#2)');
  });

  it.each([
    ['an upper-case name', { name: 'Plus95' }, 'builder #0 must have a lower-case `name` such as "plus-rebate", but got: "Plus95"'],
    ['a name with an underscore', { name: 'plus_rebate' }, 'builder #0 must have a lower-case `name` such as "plus-rebate", but got: "plus_rebate"'],
    ['an empty name', { name: '' }, 'builder #0 must have a lower-case `name` such as "plus-rebate", but got: ""'],
    ['no name', { name: undefined }, 'builder #0 must have a lower-case `name` such as "plus-rebate", but got: undefined'],
    ['no build()', { build: undefined }, 'builder #0 ("sample") must have a build() function, but got: "undefined"'],
    ['a build that is not a function', { build: 'soon' }, 'builder #0 ("sample") must have a build() function, but got: "string"'],
    ['an unknown kind', { kind: 'BONUS' }, 'builder #0 ("sample") must have a kind in GOODS|DEDUCTION|CHARGE|PAYABLE|INFO|TEXT, but got: "BONUS"'],
    // Every registered upstream, in registry order (cart|promotion|settlement|loyalty first: test/upstreams/registry.test.ts).
    ['an unknown need', { needs: ['cart', 'inventory'] }, `builder #0 ("sample") must list its needs among ${UPSTREAMS.join('|')}, but got: ["cart","inventory"]`],
    ['needs that are not a list', { needs: 'cart' }, `builder #0 ("sample") must list its needs among ${UPSTREAMS.join('|')}, but got: "cart"`],
    ['a template variable that is not an identifier', { templateVars: ['amount', 'quota left'] }, 'builder #0 ("sample") must list templateVars as identifiers, but got: ["amount","quota left"]'],
    ['a template variable that is not a string', { templateVars: [42] }, 'builder #0 ("sample") must list templateVars as identifiers, but got: [42]'],
    ['no templateVars', { templateVars: undefined }, 'builder #0 ("sample") must list templateVars as identifiers, but got: undefined'],
  ])('refuses a builder with %s, stating the contract and what it got', (_, fields, message) => {
    const error = thrownBy(() => createBuilderRegistry([malformedBuilder(fields)]));
    expect(error.code).toBe(ErrorCode.BUILDER_MALFORMED);
    expect(error.message).toBe(message);
  });

  it('refuses something that is not an object at all', () => {
    const error = thrownBy(() => createBuilderRegistry([null as unknown as FloorBuilder]));
    expect(error.code).toBe(ErrorCode.BUILDER_MALFORMED);
    expect(error.message).toBe('builder #0 must be an object, but got: null');
  });

  it('numbers a malformed builder by its position in the list', () => {
    const error = thrownBy(() =>
      createBuilderRegistry([builder({ name: 'alpha' }), builder({ name: 'beta' }), malformedBuilder({ name: 'gamma', kind: 'bonus' })]),
    );
    expect(error.message).toMatch(/^builder #2 \("gamma"\) must have a kind in /);
  });

  it('registers every builder Floorplan ships', () => {
    const registry = createBuilderRegistry(defaultBuilders);
    // What ships, held on purpose: a builder added to (or dropped from) src/floors/builders/index.ts
    // is added here too, in name order (README, "Adding a floor", step 1).
    expect(registry.names, 'the names of defaultBuilders (src/floors/builders/index.ts), sorted: add a new builder\'s name to this list').toEqual([
      'coupon', 'lj', 'loyalty-points', 'mj', 'notice', 'payable', 'plus-rebate', 'plus95', 'shipping', 'spze', 'spze-cart',
    ]);
    for (const shipped of defaultBuilders) expect(registry.get(shipped.name)).toBe(shipped);
  });
});

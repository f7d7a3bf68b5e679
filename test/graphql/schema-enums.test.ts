/**
 * The schema's enums are the code's lists, checked rather than copied by hand: a kind, a
 * degraded reason or an upstream added on one side and not the other fails here, not on a phone.
 */
import { readFileSync } from 'node:fs';
import { buildSchema, GraphQLEnumType } from 'graphql';
import { describe, expect, it } from 'vitest';
import { FLOOR_KINDS } from '../../src/floors/builder.ts';
import { DEGRADED_REASONS } from '../../src/panels/panel.ts';

const schema = buildSchema(readFileSync(new URL('../../schema/floorplan.graphql', import.meta.url), 'utf8'));
const values = (name: string) => (schema.getType(name) as GraphQLEnumType).getValues().map((v) => v.name);

describe('schema enums match the code', () => {
  it('FloorKind is FLOOR_KINDS, in order', () => {
    expect(values('FloorKind')).toEqual([...FLOOR_KINDS]);
  });
  it('DegradedReason is DEGRADED_REASONS, in order', () => {
    expect(values('DegradedReason')).toEqual([...DEGRADED_REASONS]);
  });
});

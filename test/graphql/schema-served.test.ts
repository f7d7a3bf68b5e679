/**
 * The schema Floorplan serves (introspection, and what Apollo iOS/Kotlin download to generate
 * code from) is schema/floorplan.graphql, descriptions included: the file is the contract with
 * mobile clients, so nothing the resolvers bring (a custom scalar's own description) may reword it.
 */
import { readFileSync } from 'node:fs';
import { makeExecutableSchema } from '@graphql-tools/schema';
import type { IResolvers } from '@graphql-tools/utils';
import { buildSchema, lexicographicSortSchema, printSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import { resolvers } from '../../src/graphql/resolvers.ts';
import { loadTypeDefs } from '../../src/graphql/schema.ts';

const printed = (schema: Parameters<typeof lexicographicSortSchema>[0]) => printSchema(lexicographicSortSchema(schema));

describe('the served schema', () => {
  it('is schema/floorplan.graphql as written, every description included', () => {
    const file = buildSchema(readFileSync(new URL('../../schema/floorplan.graphql', import.meta.url), 'utf8'));
    const served = makeExecutableSchema({ typeDefs: loadTypeDefs(), resolvers: resolvers as IResolvers });
    expect(printed(served)).toBe(printed(file));
  });
});

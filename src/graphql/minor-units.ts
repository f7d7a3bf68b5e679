/**
 * The MinorUnits scalar: integer minor units as a JSON number, exact up to 2^53 − 1.
 * GraphQL's Int stops at 2^31 − 1 (¥21,474,836.47 in fen); a bulk order passes that.
 * A value that cannot be carried exactly is an error, never a rounded amount.
 */
import { GraphQLError, GraphQLScalarType, Kind } from 'graphql';

function exact(value: unknown): number {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  throw new GraphQLError(`MinorUnits must be a safe integer (|n| ≤ 2^53 − 1), but got: ${String(value)}`);
}

export const MinorUnits = new GraphQLScalarType<number, number>({
  name: 'MinorUnits',
  // graphql-tools serves the resolver's description in place of schema/floorplan.graphql's (the
  // contract), an absent one included: so it is the file's, word for word (test/graphql/schema-served.test.ts).
  description:
    'Integer minor units (fen for CNY), serialized as a JSON number. Exact up to 2^53 − 1:\nunlike Int it does not stop at 2^31, and a value it cannot carry exactly is an error,\nnever a rounded amount.',
  serialize: exact,
  parseValue: exact,
  parseLiteral(ast) {
    if (ast.kind !== Kind.INT) throw new GraphQLError(`MinorUnits must be an integer literal, but got: ${ast.kind}`);
    return exact(Number(ast.value));
  },
});

/**
 * Validation rule: an operation's type (query, mutation, subscription) must be one the schema
 * defines. The GraphQL spec requires it ("Operation Type Existence") and graphql-js 17 ships it
 * as `KnownOperationTypesRule`; graphql-js 16 does not, so without this rule a `mutation {…}`
 * passed validation and failed in execution, where it looked like a server fault
 * (INTERNAL_SERVER_ERROR and an error-level log line per request). Same name and message as
 * graphql-js 17's, so clients see the answer they will keep seeing after an upgrade.
 */
import { GraphQLError, type ASTVisitor, type ValidationContext } from 'graphql';

export function KnownOperationTypesRule(context: ValidationContext): ASTVisitor {
  const schema = context.getSchema();
  return {
    OperationDefinition(node) {
      if (!schema.getRootType(node.operation)) {
        context.reportError(new GraphQLError(`The ${node.operation} operation is not supported by the schema.`, { nodes: node }));
      }
    },
  };
}

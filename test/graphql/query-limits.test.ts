import { parse, type GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { stoppedAtTokenLimit } from '../../src/graphql/query-limits.ts';

/** The error graphql-js's parser throws for `source` with a token limit of `maxTokens`. */
function parseError(source: string, maxTokens: number): GraphQLError {
  try {
    parse(source, { maxTokens });
  } catch (error) {
    return error as GraphQLError;
  }
  throw new Error(`parsed: ${source}`);
}

describe('stoppedAtTokenLimit', () => {
  it('recognises the parser stopping at token maxTokens + 1', () => {
    const source = `{ a ${'b '.repeat(20)}}`;
    expect(stoppedAtTokenLimit(source, 10, parseError(source, 10))).toBe(true);
  });

  it('does not take a syntax error before the limit for it, in a document longer than the limit', () => {
    const source = `{ a( ${'b '.repeat(20)}}`;
    expect(stoppedAtTokenLimit(source, 10, parseError(source, 10))).toBe(false);
  });

  it('does not take a lexing error for it', () => {
    const source = `{ a "unterminated ${'b '.repeat(20)}}`;
    expect(stoppedAtTokenLimit(source, 10, parseError(source, 10))).toBe(false);
  });

  it('does not take a syntax error in a short document for it', () => {
    const source = '{ floorPanel(scene: ';
    expect(stoppedAtTokenLimit(source, 1000, parseError(source, 1000))).toBe(false);
  });
});

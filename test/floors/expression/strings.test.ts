/**
 * Golden tests of CEL's `substring`, `indexOf` and `lastIndexOf` in floor expressions: indices
 * count characters (code points), as CEL defines them and as `size()` counts, not JavaScript's
 * UTF-16 units (cel-js 8's own implementation, which cut an emoji in half and shipped the lone
 * surrogate to the app). Every case runs down both paths, cel-js and the fast path, which must
 * give the same value, or fail with the same words.
 */
import { describe, expect, it } from 'vitest';
import type { FloorplanError } from '../../../src/errors.ts';
import { CompiledExpression, compileExpression, type DomainRoots } from '../../../src/floors/expression/expression-floor.ts';

function compiled(source: string): CompiledExpression {
  const asVar = compileExpression(source, 'golden', 'var');
  const result = asVar instanceof CompiledExpression ? asVar : compileExpression(source, 'golden', 'when');
  if (!(result instanceof CompiledExpression)) throw new Error(`${source}: ${result.problem}`);
  return result;
}

/** What one path gives: the value, or the failure's cause. */
function outcome(run: () => unknown): { value: unknown } | { cause: string } {
  try {
    return { value: run() };
  } catch (error) {
    return { cause: String((error as FloorplanError<never>).params?.cause ?? (error as Error).message) };
  }
}

/** Down both paths, which must agree; the value (or throws the failure's cause). */
function evaluate(source: string, roots: DomainRoots = {}): unknown {
  const expression = compiled(source);
  expect(expression.fast, `${source} takes the fast path`).toBeDefined();
  const cel = outcome(() => expression.evaluateWithCel(roots));
  expect(outcome(() => expression.evaluate(roots)), `${source}: the fast path as cel-js`).toEqual(cel);
  if ('cause' in cel) throw new Error(cel.cause);
  return cel.value;
}

const viewer = (platform: string, segments: string[] = []) => ({ viewer: { platform, segments } });

describe('substring, indexOf and lastIndexOf count characters (code points), as size() does', () => {
  const GOLDEN: ReadonlyArray<readonly [string, unknown]> = [
    // The defect's cases: half an emoji, and indices one off per emoji before the match.
    ['"🎁赠品：🍎红富士苹果一箱".substring(0, 6)', '🎁赠品：🍎红'],
    ['"苹果🍎汁".substring(2, 3)', '🍎'],
    ['"🍎苹果".indexOf("苹果")', 1],
    ['"🍎苹果🍎".lastIndexOf("🍎")', 3],
    // The rest of each overload.
    ['"🍎苹果".substring(1)', '苹果'],
    ['"🍎苹果".substring(3)', ''],
    ['"🍎🍎苹果".substring(2, 2)', ''],
    ['"🍎苹果".indexOf("🍎")', 0],
    ['"🍎苹果".indexOf("梨")', -1],
    ['"🍎苹🍎果".indexOf("🍎", 1)', 2],
    ['"🍎苹果".indexOf("果", 2)', 2],
    ['"🍎苹果🍎".lastIndexOf("🍎", 2)', 0],
    ['"🍎苹果🍎".lastIndexOf("🍎", 3)', 3],
    ['"🍎苹果".lastIndexOf("梨")', -1],
    // The empty string: found at 0, at the offset, at the end (size, not the UTF-16 length).
    ['"🍎苹果".indexOf("")', 0],
    ['"🍎苹果".indexOf("", 2)', 2],
    ['"🍎苹果".lastIndexOf("")', 3],
    ['"🍎苹果".lastIndexOf("", 1)', 1],
    ['"".indexOf("")', 0],
    ['"".lastIndexOf("")', 0],
    // ASCII answers as before.
    ['"hello".substring(1, 3)', 'el'],
    ['"hello".indexOf("l")', 2],
    ['"hello".lastIndexOf("l")', 3],
    ['"hello".lastIndexOf("l", 2)', 2],
    // Agrees with size(): the last character is at size - 1.
    ['size("a🍎") == 2 && "a🍎".substring(1) == "🍎"', true],
  ];
  for (const [source, expected] of GOLDEN) {
    it(`${source} is ${JSON.stringify(expected)}`, () => {
      expect(evaluate(source)).toEqual(expected);
    });
  }

  it('over the data too (a title with emoji), where no string is cut inside a character', () => {
    expect(evaluate('viewer.platform.substring(0, 2)', viewer('🎁赠品'))).toBe('🎁赠');
    expect(evaluate('viewer.platform.indexOf("品")', viewer('🎁赠品'))).toBe(2);
    expect(evaluate('viewer.platform.lastIndexOf(viewer.segments[0])', viewer('🎁赠🎁品', ['🎁']))).toBe(2);
    // A lone surrogate from the data is a character of its own: not half of the 🍎 it is searched in.
    expect(evaluate('viewer.platform.indexOf(viewer.segments[0])', viewer('x🍎', ['\ud83c']))).toBe(-1);
    expect(evaluate('viewer.platform.lastIndexOf(viewer.segments[0])', viewer('x🍎\ud83c', ['\ud83c']))).toBe(2);
  });

  const OUT_OF_RANGE: ReadonlyArray<readonly [string, RegExp]> = [
    ['"🍎".substring(0, 2)', /^string\.substring\(start, end\): end index out of range: 2 \(start 0, the string has 1 characters\)$/],
    ['"🍎".substring(2)', /^string\.substring\(start, end\): start index out of range: 2 \(the string has 1 characters\)$/],
    ['"🍎苹".substring(-1, 1)', /start index out of range: -1/],
    ['"🍎苹".substring(2, 1)', /end index out of range: 1/],
    ['"🍎苹".indexOf("苹", 2)', /^string\.indexOf\(search, fromIndex\): fromIndex out of range: 2 \(the string has 2 characters\)$/],
    ['"🍎苹".indexOf("苹", -1)', /fromIndex out of range: -1/],
    ['"🍎苹".lastIndexOf("苹", 2)', /^string\.lastIndexOf\(search, fromIndex\): fromIndex out of range: 2 \(the string has 2 characters\)$/],
  ];
  for (const [source, message] of OUT_OF_RANGE) {
    it(`${source} fails: an index out of range, in characters`, () => {
      expect(() => evaluate(source)).toThrow(message);
    });
  }
});

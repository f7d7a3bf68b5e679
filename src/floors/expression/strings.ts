/**
 * CEL's `substring`, `indexOf` and `lastIndexOf`, counted in characters (Unicode code points)
 * as CEL defines them (cel-go's strings extension) and as `size()` counts. cel-js 8 implements
 * them with JavaScript's UTF-16 methods, so after an emoji its indices are off by one and a
 * substring can end inside one, shipping half an emoji (a lone surrogate) to the app.
 * expression-floor.ts puts these in place of cel-js's on every checked call; fast-path.ts
 * calls them too, so both paths answer alike.
 *
 * Each is O(n) in the string's UTF-16 length, with no array of code points: a walk that turns
 * a character index into a UTF-16 one (or back) and JavaScript's own search, whose matches
 * are kept only when they start and end between characters. So the cost estimate's
 * "linear" (indexOf, lastIndexOf) and "copying" (substring) still hold, to a small factor.
 */

/** An index out of range: the expression's failure (cel-js's conditions and words, in characters). */
export class CharacterIndexError extends Error {}

const isHigh = (unit: number): boolean => unit >= 0xd800 && unit <= 0xdbff;
const isLow = (unit: number): boolean => unit >= 0xdc00 && unit <= 0xdfff;

/** Whether UTF-16 index `unit` of `s` is between two characters, not inside a surrogate pair. */
function between(s: string, unit: number): boolean {
  return unit <= 0 || unit >= s.length || !(isLow(s.charCodeAt(unit)) && isHigh(s.charCodeAt(unit - 1)));
}

/** The characters of `s` before UTF-16 index `unit` (a lone surrogate is one, as `[...s]` counts). */
function charactersBefore(s: string, unit: number): number {
  let count = 0;
  for (let i = 0; i < unit; i++) {
    if (isHigh(s.charCodeAt(i)) && i + 1 < s.length && isLow(s.charCodeAt(i + 1))) i++;
    count++;
  }
  return count;
}

/** The number of characters (code points) of `s`: what CEL's `size()` gives. */
export function characters(s: string): number {
  return charactersBefore(s, s.length);
}

/** The UTF-16 index where character `index` of `s` starts (`s.length` for the end); `index` must be within 0..size. */
function unitOf(s: string, index: number): number {
  let unit = 0;
  for (let n = 0; n < index; n++) unit += isHigh(s.charCodeAt(unit)) && isLow(s.charCodeAt(unit + 1)) ? 2 : 1;
  return unit;
}

/** `s.substring(start)` / `s.substring(start, end)`: 0 <= start <= end <= size(s), in characters. */
export function substring(s: string, start: number, end?: number): string {
  const size = characters(s);
  if (start < 0 || start > size) throw new CharacterIndexError(`string.substring(start, end): start index out of range: ${start} (the string has ${size} characters)`);
  if (end === undefined) return s.slice(unitOf(s, start));
  if (end < start || end > size) throw new CharacterIndexError(`string.substring(start, end): end index out of range: ${end} (start ${start}, the string has ${size} characters)`);
  return s.slice(unitOf(s, start), unitOf(s, end));
}

/** `s.indexOf(search[, from])`: the character index of the first match at or after `from`, or -1; "" is found at `from` (0). */
export function indexOf(s: string, search: string, from?: number): number {
  if (search === '') return from ?? 0;
  let unit = 0;
  if (from !== undefined) {
    const size = characters(s);
    if (from < 0 || from >= size) throw new CharacterIndexError(`string.indexOf(search, fromIndex): fromIndex out of range: ${from} (the string has ${size} characters)`);
    unit = unitOf(s, from);
  }
  for (;;) {
    const at = s.indexOf(search, unit);
    if (at < 0) return -1;
    if (between(s, at) && between(s, at + search.length)) return charactersBefore(s, at);
    unit = at + 1;
  }
}

/** `s.lastIndexOf(search[, from])`: the character index of the last match starting at or before `from`, or -1; "" is found at `from` (size(s)). */
export function lastIndexOf(s: string, search: string, from?: number): number {
  let unit = s.length;
  if (from === undefined) {
    if (search === '') return characters(s);
  } else {
    if (search === '') return from;
    const size = characters(s);
    if (from < 0 || from >= size) throw new CharacterIndexError(`string.lastIndexOf(search, fromIndex): fromIndex out of range: ${from} (the string has ${size} characters)`);
    unit = unitOf(s, from);
  }
  while (unit >= 0) {
    const at = s.lastIndexOf(search, unit);
    if (at < 0) return -1;
    if (between(s, at) && between(s, at + search.length)) return charactersBefore(s, at);
    unit = at - 1;
  }
  return -1;
}

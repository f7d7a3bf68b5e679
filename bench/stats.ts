/**
 * The one `median` the benches and the test support share: the middle value of an odd count,
 * the mean of the two middle values of an even one. No values read NaN, so a table cell with
 * nothing to show says so instead of stopping a run that has measured everything else.
 */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

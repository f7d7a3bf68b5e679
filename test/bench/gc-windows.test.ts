/**
 * bench/gc-windows.ts's trace parser, on V8's own `--trace-gc --trace-gc-verbose` output: it keeps
 * the mark-compacts and the growing factors, with the time V8 gave them, and drops the rest.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parseTraceLine } from '../../bench/gc-windows.ts';

describe('bench/gc-windows', () => {
  it("picks the mark-compacts and the growing factor out of a real node process's GC trace, and no scavenge", () => {
    const script = "globalThis.gc({ type: 'minor' }); globalThis.gc(); globalThis.gc();";
    const run = spawnSync(process.execPath, ['--expose-gc', '--trace-gc', '--trace-gc-verbose', '-e', script], { encoding: 'utf8' });
    expect(run.status).toBe(0);
    const lines = run.stdout.split('\n');
    expect(lines.some((line) => line.includes('Scavenge'))).toBe(true);

    const kept = lines.map(parseTraceLine).filter((line) => line !== undefined);
    const markCompacts = kept.filter(({ text }) => text.startsWith('Mark-Compact'));
    expect(markCompacts).toHaveLength(2);
    expect(kept.filter(({ text }) => text.startsWith('[HeapController] factor')).length).toBeGreaterThanOrEqual(2);
    expect(kept.some(({ text }) => text.includes('Scavenge'))).toBe(false);
    for (const { atMs } of kept) expect(Number.isInteger(atMs) && atMs >= 0).toBe(true);
    expect(markCompacts[1]!.atMs).toBeGreaterThanOrEqual(markCompacts[0]!.atMs);
  });

  it('keeps the start of a collection by the memory reducer, and cuts a long line', () => {
    expect(parseTraceLine('[11880:0x26299000:0]   106003 ms: Memory reducer: started GC #1')).toEqual({ atMs: 106003, text: 'Memory reducer: started GC #1' });
    expect(parseTraceLine('[11880:0x26299000:0]   106003 ms: Memory reducer: high alloc, foreground')).toBeUndefined();
    const long = parseTraceLine(`[1:0x1:0]  5 ms: Mark-Compact (reduce) 96.7 (197.6) -> 54.1 (133.4) MB, ${'x'.repeat(300)}`);
    expect(long?.atMs).toBe(5);
    expect(long?.text.startsWith('Mark-Compact (reduce) 96.7')).toBe(true);
    expect(long?.text.length).toBe(161);
  });
});

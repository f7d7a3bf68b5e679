/**
 * bench/gc-windows.ts's trace parser, on V8's own `--trace-gc --trace-gc-verbose` output: it keeps
 * the mark-compacts and the growing factors, with the time V8 gave them, and drops the rest.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { describeScavenges, parseScavenge, parseTraceLine, summarizeWindows } from '../../bench/gc-windows.ts';

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

    // The scavenges have a parser of their own, which reads each one's pause.
    const scavenges = lines.map(parseScavenge).filter((scavenge) => scavenge !== undefined);
    expect(scavenges).toHaveLength(lines.filter((line) => / ms: Scavenge\b/.test(line)).length);
    expect(scavenges.length).toBeGreaterThanOrEqual(1);
    for (const { pauseMs } of scavenges) expect(Number.isFinite(pauseMs) && pauseMs >= 0).toBe(true);
  });

  it("reads a scavenge's time and pause, and sums up a window's", () => {
    expect(parseScavenge('[7988:0x8248000]       18 ms: Scavenge 4.8 (6.8) -> 3.9 (6.8) MB, pooled: 0 MB, 0.33 / 0.00 ms  (average mu = 1.000, current mu = 1.000) allocation failure; ')).toEqual({ atMs: 18, pauseMs: 0.33 });
    expect(parseScavenge('[7988:0x8248000]       18 ms: Mark-Compact 4.8 (6.8) -> 3.9 (6.8) MB, pooled: 0 MB, 2.33 / 0.00 ms  (average mu = 1.000)')).toBeUndefined();
    expect(describeScavenges([])).toBe('0 scavenges');
    expect(describeScavenges([{ atMs: 1, pauseMs: 1 }, { atMs: 2, pauseMs: 4 }])).toBe('2 scavenges, mean 2.50 ms, longest 4.00 ms');
  });

  it('keeps the start of a collection by the memory reducer, and cuts a long line', () => {
    expect(parseTraceLine('[11880:0x26299000:0]   106003 ms: Memory reducer: started GC #1')).toEqual({ atMs: 106003, text: 'Memory reducer: started GC #1' });
    expect(parseTraceLine('[11880:0x26299000:0]   106003 ms: Memory reducer: high alloc, foreground')).toBeUndefined();
    const long = parseTraceLine(`[1:0x1:0]  5 ms: Mark-Compact (reduce) 96.7 (197.6) -> 54.1 (133.4) MB, ${'x'.repeat(300)}`);
    expect(long?.atMs).toBe(5);
    expect(long?.text.startsWith('Mark-Compact (reduce) 96.7')).toBe(true);
    expect(long?.text.length).toBe(161);
  });

  it('tells the windows that held a mark-compact from the others', () => {
    expect(
      summarizeWindows([
        { p99Ms: 101.82, markCompacts: 1 },
        { p99Ms: 50.2, markCompacts: 0 },
        { p99Ms: 55.851, markCompacts: 0 },
        { p99Ms: 49.98, markCompacts: 0 },
      ]),
    ).toBe('1 of 4 windows held a mark-compact (p99 101.82 ms); the other 3 read p99 49.98–55.85 ms');
    expect(summarizeWindows([{ p99Ms: 48.67, markCompacts: 0 }, { p99Ms: 93.57, markCompacts: 2 }])).toBe(
      '1 of 2 windows held a mark-compact (p99 93.57 ms); the other 1 read p99 48.67 ms',
    );
    expect(summarizeWindows([{ p99Ms: 52, markCompacts: 0 }])).toBe('0 of 1 window held a mark-compact; the other 1 read p99 52.00 ms');
    expect(summarizeWindows([{ p99Ms: 80, markCompacts: 1 }])).toBe('1 of 1 window held a mark-compact (p99 80.00 ms)');
  });
});

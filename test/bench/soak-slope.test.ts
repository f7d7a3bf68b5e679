/**
 * The soak target's slope (bench/peers.ts): a least-squares line through each minute's lowest
 * RSS sample, over the soak's own minutes.
 */
import { describe, expect, it } from 'vitest';
import { soakSlopeMbPerMinute, soakSlopeTarget } from '../../bench/peers.ts';
import { soakTimelineLine, type SoakResult } from '../../bench/results.ts';

/** Samples every 10 s from 0 to `seconds` (the sampler's last tick lands just after the window, as the real one's does). */
function samples(seconds: number, rss: (atSeconds: number) => number): Array<{ atSeconds: number; rssMb: number }> {
  const out: Array<{ atSeconds: number; rssMb: number }> = [];
  for (let at = 0; at <= seconds; at += 10) out.push({ atSeconds: at, rssMb: rss(at) });
  out.push({ atSeconds: seconds + 1, rssMb: rss(seconds + 1) });
  return out;
}

function soak(seconds: number, rss: (atSeconds: number) => number): SoakResult {
  return { seconds, targetRps: 1000, rps: 1000, p99Ms: 50, errors: 0, sampleEverySeconds: 10, samples: samples(seconds, rss), windowSeconds: 60, earlyMedianMb: 0, lateMedianMb: 0, changePercent: 0, flat: true };
}

describe('the soak slope', () => {
  it('reads a GC sawtooth with flat minima as flat', () => {
    // Every minute climbs 40 MB and drops back: the minima stay at 300.
    const { slope, minutes } = soakSlopeMbPerMinute(soak(600, (at) => 300 + ((at % 60) / 60) * 40).samples, 600);
    expect(minutes).toBe(10);
    expect(Math.abs(slope)).toBeLessThan(0.01);
  });

  it('reads a leak of 2 MB a minute as 2 MB a minute', () => {
    const { slope } = soakSlopeMbPerMinute(soak(600, (at) => 300 + (at / 60) * 2).samples);
    expect(slope).toBeCloseTo(2, 1);
  });

  it('leaves out what was sampled after the soak ended: one late sample is not a minute of its own', () => {
    // A flat soak whose sampler fired once more as the load stopped, on a spike.
    const result = soak(600, (at) => (at > 600 ? 356 : 336));
    const { slope, minutes } = soakSlopeMbPerMinute(result.samples, result.seconds);
    expect(minutes).toBe(10);
    expect(slope).toBe(0);
    expect(soakSlopeTarget(result)).toMatchObject({ pass: true, actual: '0.00 MB/min over 10 minutes (600 s soak)' });
  });

  it('fits another figure of the samples when told, leaving out the samples without it', () => {
    // RSS climbs 3 MB a minute (V8 keeping more pages) while the old space in use stays at 120 MB.
    const result = soak(600, (at) => 300 + (at / 60) * 3);
    const withOld = result.samples.map((s) => (s.atSeconds % 60 === 30 ? s : { ...s, oldSpaceUsedMb: 120 + ((s.atSeconds % 60) / 60) * 30 }));
    expect(soakSlopeMbPerMinute(withOld, 600).slope).toBeCloseTo(3, 1);
    const old = soakSlopeMbPerMinute(withOld, 600, (s) => s.oldSpaceUsedMb);
    expect(old.minutes).toBe(10);
    expect(Math.abs(old.slope)).toBeLessThan(0.01);
  });
});

describe("the soak's timeline in BENCHMARKS.md", () => {
  const span = (fromSeconds: number, p99Ms: number, maxMs: number, failed = 0) => ({ fromSeconds, requests: 1000, ok: 1000 - failed, non2xx: failed, errors: 0, p50Ms: 3, p99Ms, maxMs });

  it('gives the p99 of each span, the worst answer, the failed answers and when the mark-compacts ran', () => {
    const result: SoakResult = {
      ...soak(180, () => 300),
      windowSeconds: 60,
      timeline: [span(0, 9.4, 40), span(60, 1209.8, 2500.5, 82), span(120, 5, 12)],
      samples: [0, 60, 120, 180].map((atSeconds, i) => ({ atSeconds, rssMb: 300, markCompacts: [4, 4, 5, 7][i] })),
    };
    expect(soakTimelineLine(result)).toBe(
      ' p99 per 60 s: 9.4, 1209.8, 5.0 ms (max 2500.5 ms). Failed answers per 60 s: 0, 82, 0. Mark-compacts while sampled: 60–120 s, 2× 120–180 s.',
    );
  });

  it('says so when no span failed and no mark-compact ran, and says nothing for a soak from before timelines', () => {
    const quiet: SoakResult = { ...soak(120, () => 300), timeline: [span(0, 4, 9), span(60, 5, 11)], samples: [0, 60, 120].map((atSeconds) => ({ atSeconds, rssMb: 300, markCompacts: 3 })) };
    expect(soakTimelineLine(quiet)).toBe(' p99 per 60 s: 4.0, 5.0 ms (max 11.0 ms). No span had a failed answer. No mark-compact while sampled.');
    expect(soakTimelineLine(soak(120, () => 300))).toBe('');
  });

  it('reads a span whose every answer failed (no latency, null in JSON) as n/a', () => {
    const failed = { ...span(60, 0, 0, 1000), p50Ms: null, p99Ms: null, maxMs: null } as unknown as ReturnType<typeof span>;
    const result: SoakResult = { ...soak(120, () => 300), timeline: [span(0, 4, 9), failed], samples: [] };
    expect(soakTimelineLine(result)).toBe(' p99 per 60 s: 4.0, n/a ms (max 9.0 ms). Failed answers per 60 s: 0, 1000.');
  });
});

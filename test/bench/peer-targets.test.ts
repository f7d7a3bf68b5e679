/**
 * Issue 18's CPU targets as `npm run bench -- --peers` judges them (bench/peers.ts): Floorplan's
 * µs/req against each other server's, pooled, with the median of the rounds' ratios beside it;
 * loaded at once (`--simultaneous`), each ratio uses Floorplan's windows beside that server.
 */
import { describe, expect, it } from 'vitest';
import { peerCpuTargets } from '../../bench/peers.ts';

describe("the peers' CPU targets", () => {
  it('divides Floorplan by each server, one after the other', () => {
    const targets = peerCpuTargets(300, { mercuriusPeer: 250, upstreamFloor: 150, apolloPeer: 700 }, [
      { floorplan: 280, mercuriusPeer: 260, upstreamFloor: 150, apolloPeer: 600 },
      { floorplan: 320, mercuriusPeer: 240, upstreamFloor: 150, apolloPeer: 800 },
      { floorplan: 300, mercuriusPeer: 250, upstreamFloor: 150, apolloPeer: 700 },
    ]);
    expect(targets.map(({ id, pass, actual }) => [id, pass, actual])).toEqual([
      ['cpu-vs-f', false, "300.0 vs 250.0 µs/req (1.20×; median of 3 rounds' ratios 1.20×)"],
      ['cpu-vs-d', false, "300.0 vs 150.0 µs/req (2.00×; median of 3 rounds' ratios 2.00×)"],
      ['cpu-vs-e', true, "300.0 vs 700.0 µs/req (0.43×; median of 3 rounds' ratios 0.43×)"],
    ]);
  });

  it('loaded at once, divides Floorplan beside each server by that server, round by round too', () => {
    const targets = peerCpuTargets(
      300,
      { mercuriusPeer: 250, upstreamFloor: 150, apolloPeer: 700 },
      [
        { floorplan: 300, 'floorplan:mercuriusPeer': 240, mercuriusPeer: 250, 'floorplan:upstreamFloor': 330, upstreamFloor: 150, 'floorplan:apolloPeer': 330, apolloPeer: 700 },
        { floorplan: 300, 'floorplan:mercuriusPeer': 230, mercuriusPeer: 250, 'floorplan:upstreamFloor': 330, upstreamFloor: 150, 'floorplan:apolloPeer': 340, apolloPeer: 700 },
      ],
      { mercuriusPeer: 235, upstreamFloor: 330, apolloPeer: 335 },
    );
    expect(targets.map(({ id, pass, actual }) => [id, pass, actual])).toEqual([
      ['cpu-vs-f', true, "235.0 vs 250.0 µs/req (0.94×; median of 2 rounds' ratios 0.94×, loaded at once)"],
      ['cpu-vs-d', false, "330.0 vs 150.0 µs/req (2.20×; median of 2 rounds' ratios 2.20×, loaded at once)"],
      ['cpu-vs-e', true, "335.0 vs 700.0 µs/req (0.48×; median of 2 rounds' ratios 0.48×, loaded at once)"],
    ]);
  });
});

import { describe, expect, it } from 'vitest';
import { layoutRedisKeys, parsePublishedLayouts } from '../../src/layouts/published-layouts.ts';

const KEY = 'floorplan:layouts';

function problems(raw: string): readonly string[] {
  const parsed = parsePublishedLayouts(raw, KEY);
  if (parsed.ok) throw new Error('expected problems');
  return parsed.problems;
}

describe('the published layouts JSON (what floors:publish stores, replicas read)', () => {
  it('names the key, channel and counter under the prefix', () => {
    expect(layoutRedisKeys('fp:')).toEqual({ layouts: 'fp:layouts', revision: '{fp:layouts}:revision', channel: 'fp:layouts:changed' });
  });

  it('keeps the counter in the layouts key\'s cluster slot, also under a prefix that has a hash tag of its own', () => {
    expect(layoutRedisKeys('{fp}:')).toEqual({ layouts: '{fp}:layouts', revision: '{fp}:layouts:revision', channel: '{fp}:layouts:changed' });
  });

  it('parses what publish writes', () => {
    const value = { revision: 3, publishedAt: '2026-11-22T10:00:00.000Z', files: { 'cart-bottom-sheet.yaml': 'scene: cart-bottom-sheet\n' } };
    expect(parsePublishedLayouts(JSON.stringify(value), KEY)).toEqual({ ok: true, value });
  });

  it('rejects text that is not JSON, saying so', () => {
    expect(problems('{"revision": 1,')[0]).toMatch(/^Redis key floorplan:layouts must hold JSON \(.+\), but got: "\{\\"revision\\": 1,"$/);
  });

  it('reports every wrong field with its contract and what it holds', () => {
    expect(problems(JSON.stringify({ revision: 0, publishedAt: 5, files: { 'a/b.yaml': 'x', 'cart.yaml': 7 } }))).toEqual([
      'Redis key floorplan:layouts: `revision` must be a positive integer, but got: 0',
      'Redis key floorplan:layouts: `publishedAt` must be an ISO 8601 time, but got: 5',
      'Redis key floorplan:layouts: `files` must name each file <scene>.yaml, but got: "a/b.yaml"',
      "Redis key floorplan:layouts: `files.cart.yaml` must be the file's YAML text, but got: 7",
    ]);
    expect(problems(JSON.stringify({ revision: 1, publishedAt: 'now', files: {} }))).toEqual([
      'Redis key floorplan:layouts: `files` must hold at least one <scene>.yaml, but got: {}',
    ]);
    expect(problems('[]')).toEqual(['Redis key floorplan:layouts: the value must be a JSON object {revision, publishedAt, files}, but got: []']);
  });
});

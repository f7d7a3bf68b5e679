import { describe, expect, it } from 'vitest';
import { notice } from '../../../src/floors/builders/notice.ts';
import { buildContext, fakePanelData } from './fixtures.ts';

describe('notice builder (text-only row)', () => {
  it('returns a row with no amount and no variables', async () => {
    const { data } = fakePanelData();
    expect(notice.build(buildContext(data))).toEqual({ amount: null });
  });

  it('reads no upstream data at all', async () => {
    const { data, calls } = fakePanelData();
    await notice.build(buildContext(data));
    expect(calls).toEqual([]);
    expect(notice.needs).toEqual([]);
  });
});

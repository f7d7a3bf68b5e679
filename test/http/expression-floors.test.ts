/**
 * The worked example of README "Adding a floor without a deploy", through real HTTP: the demo
 * settlement gives u-new a new-customer discount; without a row for it the sheet carries it on
 * "other discounts" (degraded); an operator adds the 新人立减 expression floor to the file and
 * the running server shows it within 2 s, adding up, and keeps it through a promotion outage.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.ts';
import { eventually } from '../support/measure.ts';
import { invariantProblems, type InvariantPanel } from '../support/panel-invariant.ts';

const QUERY = /* GraphQL */ `
  query Sheet($scene: String!) {
    floorPanel(scene: $scene) {
      degraded failedUpstreams degradedReasons
      floors { code name kind priceText amount { minor currency } subName }
    }
  }
`;
type Panel = Omit<InvariantPanel, 'floors'> & { readonly floors: ReadonlyArray<InvariantPanel['floors'][number] & { readonly name: string }> };

/** The shipped cart sheet without its new-customer floor (the default layout's), as it was before the example. */
function withoutNewCustomer(shipped: string): string {
  const start = shipped.indexOf('  # An expression floor (README');
  const end = shipped.indexOf('\nvariants:');
  expect(start).toBeGreaterThan(0);
  return `${shipped.slice(0, start).trimEnd()}\n${shipped.slice(end)}`;
}

describe('adding the 新人立减 expression floor without a deploy', () => {
  let h: Harness;
  let dir: string;
  let file: string;
  let shipped: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'floorplan-expression-floors-'));
    cpSync('floors', dir, { recursive: true });
    file = join(dir, 'cart-bottom-sheet.yaml');
    shipped = readFileSync(file, 'utf8');
    writeFileSync(file, withoutNewCustomer(shipped));
    h = await startHarness({ config: { floors: { dir } } });
  });
  afterAll(async () => {
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const panel = async (): Promise<Panel> => {
    const res = await h.graphql<{ floorPanel: Panel }>('u-new', QUERY, { scene: 'cart-bottom-sheet' });
    expect(res.body.errors).toBeUndefined();
    return res.body.data!.floorPanel;
  };
  const rows = (p: Panel) => p.floors.map((f) => [f.code, f.priceText]);

  it('shows the row within 2 s of the file being saved, and the sheet adds up without "other discounts"', async () => {
    const before = await panel();
    expect(rows(before)).toContainEqual(['other-discounts', '-¥10.00']);
    expect(before.degradedReasons).toEqual(['PARTIAL_BREAKDOWN']);

    writeFileSync(file, shipped);
    const after = await eventually(panel, (p) => p.floors.some((f) => f.code === 'new-customer'), 2000);
    expect(rows(after)).toEqual([
      ['spze', '¥15.90'],
      ['coupon', '-¥3.00'],
      ['new-customer', '-¥10.00'],
      ['shipping', '¥6.00'],
      ['payable', '¥8.90'],
    ]);
    expect(after.floors.find((f) => f.code === 'new-customer')?.name).toBe('新人立减');
    expect(after.degraded).toBe(false);
    expect(invariantProblems(after)).toEqual([]);
  });

  it('keeps the row, which reads only the quote, through a promotion outage', async () => {
    writeFileSync(file, shipped);
    await eventually(panel, (p) => p.floors.some((f) => f.code === 'new-customer'), 2000);
    h.demo.setFaults('promotion:error:503');
    try {
      const during = await panel();
      expect(during.failedUpstreams).toEqual(['PROMOTION']);
      expect(rows(during)).toContainEqual(['new-customer', '-¥10.00']);
      expect(invariantProblems(during)).toEqual([]);
    } finally {
      h.demo.setFaults('');
    }
  });

  it('leaves a user without the discount without the row (hideWhenZero)', async () => {
    const res = await h.graphql<{ floorPanel: Panel }>('u-basic', QUERY, { scene: 'cart-bottom-sheet' });
    expect(res.body.data!.floorPanel.floors.map((f) => f.code)).not.toContain('new-customer');
  });
});

import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PANEL_QUERY, startHarness, type Harness, type PanelResult } from '../support/harness.ts';
import { expectPanelOrClearlyDegraded } from '../support/panels.ts';
import { eventually, expectAlive, measureWithin, metricValue, scrapeMetrics, timedPost, type TimedResponse } from '../support/measure.ts';

const DEADLINE_MS = 250;
const REJECTED = { source: 'file', result: 'rejected' } as const;

describe('an invalid layout hot-reloaded into a running Floorplan', () => {
  let h: Harness;
  let dir: string;
  let file: string;
  let original: string;
  let token: string;
  let served: PanelResult['floorPanel'];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'floorplan-fault-layouts-'));
    cpSync('floors', dir, { recursive: true });
    file = join(dir, 'cart-bottom-sheet.yaml');
    original = readFileSync(file, 'utf8');
    h = await startHarness({ config: { floors: { dir }, limits: { requestDeadlineMs: DEADLINE_MS } } });
    token = await h.token('u1001');
    // A first request on a busy machine can outlast the 250 ms deadline (JIT); keep a complete panel.
    const complete = await eventually(requestPanel, (r) => r.body.data?.floorPanel.degraded === false);
    served = complete.body.data!.floorPanel;
    expect(served).toMatchObject({ layoutVersion: '2026-11-21.1', degraded: false });
  });
  afterEach(async () => {
    // Back to the good file, and wait until it is swapped in, so the next case starts clean.
    const applied = async () => metricValue(await scrapeMetrics(h.url), 'floorplan_layout_reloads_total', { source: 'file', result: 'applied' });
    const before = await applied();
    writeFileSync(file, original);
    await eventually(applied, (n) => n > before);
  });
  afterAll(async () => {
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const requestPanel = () =>
    timedPost<PanelResult>(h.url, { query: PANEL_QUERY, variables: { scene: 'cart-bottom-sheet' } }, { authorization: `Bearer ${token}` });
  const rejections = async () => metricValue(await scrapeMetrics(h.url), 'floorplan_layout_reloads_total', REJECTED);

  /**
   * Writes `broken`, serving panels the whole time until the reload has been rejected, then
   * measures a few more: every one of them is the last good layout, in time, never a 500.
   */
  async function expectRejectedWhileServing(broken: string): Promise<void> {
    const before = await rejections();
    writeFileSync(file, broken);
    const during: TimedResponse<PanelResult>[] = [];
    const deadline = Date.now() + 5000;
    while ((await rejections()) === before && Date.now() < deadline) during.push(await requestPanel());
    expect(await rejections()).toBe(before + 1);

    const { runs, medianMs } = await measureWithin(requestPanel, DEADLINE_MS + 20);
    for (const run of [...during, ...runs]) {
      expect(run.status).toBe(200);
      expect(run.body.errors).toBeUndefined();
      // The last good layout: exactly, or clearly degraded should a request outlast the deadline.
      expectPanelOrClearlyDegraded(run.body.data!.floorPanel, served);
    }
    expect(medianMs).toBeLessThan(DEADLINE_MS + 20);
    await expectAlive(h.url);
  }

  it('keeps serving the last good layout when an edit names an unknown builder, and counts the rejection', async () => {
    await expectRejectedWhileServing(
      original.replace('version: "2026-11-21.1"', 'version: "2026-11-21.7"').replace('    builder: lj\n', '    builder: lj-v2\n'),
    );
  });

  it('keeps serving the last good layout when a half-written file is not even YAML, and counts the rejection', async () => {
    await expectRejectedWhileServing(original.slice(0, original.indexOf('  - code: lj')) + '  - code: lj\n    name: { zh-CN: 立减, en: [\n');
  });
});

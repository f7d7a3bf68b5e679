/**
 * What "a correct or clearly degraded answer" means in the fault suites: the reference panel
 * exactly, or — when some upstream failed or the deadline passed first — a panel that says so
 * (`degraded`, the upstreams named) and whose every floor is exactly the reference's floor
 * with that code: the same user's amounts, nothing invented, nothing from anyone else.
 */
import { expect } from 'vitest';
import type { PanelResult } from './harness.ts';

export type Panel = PanelResult['floorPanel'];

export function expectPanelOrClearlyDegraded(panel: Panel, reference: Panel, failed?: readonly string[]): void {
  expect(panel.layoutVersion).toBe(reference.layoutVersion);
  if (!panel.degraded) {
    expect(panel).toEqual(reference);
    return;
  }
  if (failed === undefined) expect(panel.failedUpstreams.length).toBeGreaterThan(0);
  else expect(panel.failedUpstreams).toEqual(failed);
  // A row present is the reference's row; on a degraded panel it may have lost the sub-name
  // an upstream that failed would have decorated it with (field-level degradation).
  for (const floor of panel.floors) {
    const expected = reference.floors.find((f) => f.code === floor.code);
    expect(floor).toEqual(floor.subName === null && expected !== undefined ? { ...expected, subName: null } : expected);
  }
}

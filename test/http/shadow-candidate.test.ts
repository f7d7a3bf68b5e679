/**
 * The shadow comparison of a layout candidate as an operator reads it, through real HTTP: live
 * traffic of users not in the candidate's rollout, the admin API's `shadow` report, `promote`
 * and the audit (README, "Canary a layout"). One process, PGlite, every live request sampled.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PANEL_QUERY, startHarness, type Harness, type PanelResult } from '../support/harness.ts';
import { eventually } from '../support/measure.ts';

const CART = readFileSync(join('floors', 'cart-bottom-sheet.yaml'), 'utf8');
const CHECKOUT = readFileSync(join('floors', 'checkout-summary.yaml'), 'utf8');
const SCENE = 'cart-bottom-sheet';
/** Allow-listed: served the candidate, so never compared. The live users below are. */
const CANARY = 'u1001';
const LIVE_USERS = ['u-basic', 'u-mj'] as const;

/** The shipped cart sheet at `version`, edited; the checkout sheet as shipped. */
const floors = (version: string, edit: (s: string) => string = (s) => s) => ({
  'cart-bottom-sheet.yaml': edit(CART).replace('version: "2026-11-21.1"', `version: "${version}"`),
  'checkout-summary.yaml': CHECKOUT,
});
/** A DEDUCTION expression floor with the wrong sign: it fails to build on every render. */
const addBogusFloor = (s: string) =>
  s.replace('\nvariants:\n', "\n  - code: bogus\n    kind: DEDUCTION\n    amount: 'money(100)'\n    name: { zh-CN: 假, en: Bogus }\n    sort: 36\n\nvariants:\n");

interface Report {
  candidateRevision: number;
  compared: number;
  identical: number;
  different: number;
  skipped: number;
  failed: number;
  differences: Record<string, Record<string, number>>;
  invariantViolations: { candidate: number; both: number };
  examples: Array<{ user: string; differences: Array<{ floor: string; field: string; served: unknown; candidate: unknown }> } & Record<string, unknown>>;
}

describe('the shadow comparison of a layout candidate, as an operator reads it', () => {
  let h: Harness;
  let dir: string;
  const logLines: Array<Record<string, unknown>> = [];

  const admin = async (operation: string, body: unknown) => {
    const res = await fetch(`${h.url}/admin/layouts/${operation}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${h.config.admin.token}` },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };
  const panel = async (userId: string) => {
    const res = await h.graphql<PanelResult>(userId, PANEL_QUERY, { scene: SCENE });
    expect(res.status).toBe(200);
    return res.body.data!.floorPanel;
  };
  /** Stages a candidate for {@link CANARY} only, and waits until this replica serves it. */
  const stage = async (version: string, edit: (s: string) => string) => {
    const staged = await admin('candidate', { scene: SCENE, files: floors(version, edit), rollout: { allowList: [CANARY] } });
    expect(staged.status, JSON.stringify(staged.body)).toBe(200);
    const revision = staged.body.revision.revision as number;
    await eventually(() => panel(CANARY), (p) => p.layoutVersion === `${version}+candidate.r${revision}`);
    return revision;
  };
  /** The report once every one of `runs` sampled requests has been compared, skipped or failed. */
  const reportAfter = (runs: number) =>
    eventually(
      async () => (await admin('shadow', { scene: SCENE })).body as Report,
      (r) => r.compared + r.skipped + r.failed >= runs,
    );

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'floorplan-shadow-candidate-'));
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) logLines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    h = await startHarness({
      config: { layouts: { store: { kind: 'pglite', dataDir: join(dir, 'revisions') }, shadow: { sampleRatio: 1 } } },
      deps: { logger: pino({ level: 'debug' }, sink) },
    });
    expect((await admin('publish', { files: floors('live-1'), message: 'baseline' })).status).toBe(200);
  }, 60_000);

  afterAll(async () => {
    await h?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('counts a candidate whose new floor fails to build on every render as different, naming the floor and the degraded panel', async () => {
    const revision = await stage('bogus', addBogusFloor);
    // The allow-listed user sees what everyone would get after promote: a degraded panel.
    expect((await h.graphql<{ floorPanel: { degraded: boolean } }>(CANARY, `{ floorPanel(scene: "${SCENE}") { degraded } }`)).body.data!.floorPanel.degraded).toBe(true);
    for (const user of LIVE_USERS) expect((await panel(user)).degraded).toBe(false);

    const report = await reportAfter(LIVE_USERS.length);
    expect(report).toMatchObject({ candidateRevision: revision, compared: 2, identical: 0, different: 2, skipped: 0, failed: 0 });
    expect(report.differences.bogus).toEqual({ build: 2 });
    expect(report.differences['(panel)']).toEqual({ degradedReasons: 2 });
    const example = report.examples[0]!;
    expect(example.differences).toContainEqual({ floor: 'bogus', field: 'build', served: null, candidate: expect.stringMatching(/^builder-failed: FLOORPLAN_ERR_EXPRESSION_FAILED/) });
    expect(example.differences).toContainEqual({ floor: '(panel)', field: 'degradedReasons', served: [], candidate: ['BUILDER_FAILED'] });
    expect((await admin('abort', { scene: SCENE })).status).toBe(200);
  });
});

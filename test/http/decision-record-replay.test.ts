/**
 * The decision record (README, "Decision record") holds the fields /admin/preview replays a
 * request from: support quotes a decisionId, and the preview of that record's fields must show
 * the floors — and the money — the user was shown. A panel's SKU selection decides its money,
 * so the record carries each panel's `selectedSkuIds` as the client asked it (null: the cart's
 * ticked lines).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.ts';
import { loggerInto } from '../support/log-lines.ts';
import { eventually } from '../support/measure.ts';

interface Floor {
  code: string;
  amount: { minor: number } | null;
}
interface RecordedPanel {
  scene: string;
  selectedSkuIds?: string[] | null;
  failedUpstreams: string[];
}
interface DecisionRecord {
  msg: string;
  decisionId: string;
  userId: string;
  sessionId: string | null;
  segments: string[];
  platform: string;
  appVersion: string | null;
  locale: string;
  panels: RecordedPanel[];
}

/** Each floor as its code and amount in minor units: what the user read off the sheet. */
const sheet = (floors: readonly Floor[]) => floors.map((f) => `${f.code} ${f.amount?.minor ?? '-'}`);

const TWO_SELECTIONS = /* GraphQL */ `{
  picked: floorPanel(scene: "checkout-summary", selectedSkuIds: ["sku-orion-pie-12"]) { decisionId failedUpstreams floors { code amount { minor } } }
  ticked: floorPanel(scene: "checkout-summary") { decisionId failedUpstreams floors { code amount { minor } } }
}`;

describe('replaying a decision record in /admin/preview', () => {
  let h: Harness;
  const logLines: DecisionRecord[] = [];

  beforeAll(async () => {
    h = await startHarness({ deps: { logger: loggerInto(logLines, 'info') } });
  });
  afterAll(async () => {
    await h?.close();
  });

  /** Asks `query` as u1001 of the plus segment; the answer's panels and the request's decision record. */
  const ask = async (query: string) => {
    const token = await h.token('u1001', { segments: ['plus'] });
    const res = await fetch(`${h.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'accept-language': 'zh-CN' },
      body: JSON.stringify({ query }),
    });
    expect(res.status).toBe(200);
    const data = ((await res.json()) as { data: Record<string, { decisionId: string; failedUpstreams: string[]; floors: Floor[] }> }).data;
    const decisionId = Object.values(data)[0]!.decisionId;
    const record = await eventually(
      async () => logLines.find((l) => l.decisionId === decisionId && l.msg === 'panel decisions'),
      (l) => l !== undefined,
    );
    return { data, record: record! };
  };

  /** The preview's answer for one recorded panel, from the record's fields alone. */
  const previewOf = async (record: DecisionRecord, panel: RecordedPanel) => {
    const { userId, sessionId, segments, platform, appVersion, locale } = record;
    const res = await fetch(`${h.url}/admin/preview`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${h.config.admin.token}` },
      body: JSON.stringify({ scene: panel.scene, selectedSkuIds: panel.selectedSkuIds, userId, sessionId, segments, platform, appVersion, locale }),
    });
    const body = (await res.json()) as { panel: Floor[]; selectedSkuIds: string[] | null; previewedSkuIds: string[] | null; failedUpstreams: string[]; panels: Array<{ failedUpstreams: string[] }>; problems?: string[] };
    expect(res.status, JSON.stringify(body.problems)).toBe(200);
    return body;
  };
  /** The floors of the preview of one recorded panel. */
  const replay = async (record: DecisionRecord, panel: RecordedPanel) => (await previewOf(record, panel)).panel;

  it('gives the floors and amounts the user saw for each panel, a SKU selection and the ticked lines alike', async () => {
    const { data, record } = await ask(TWO_SELECTIONS);
    // The two selections price differently: a replay that lost the selection would show the other sheet.
    expect(sheet(data.picked!.floors)).toEqual(['spze 1680', 'shipping 0', 'coupon -600', 'plus95 -84', 'free-shipping-notice -', 'payable 996']);
    expect(sheet(data.ticked!.floors)).not.toEqual(sheet(data.picked!.floors));
    expect(sheet(await replay(record, record.panels[0]!))).toEqual(sheet(data.picked!.floors));
    expect(sheet(await replay(record, record.panels[1]!))).toEqual(sheet(data.ticked!.floors));
    // As asked: a selection of SKUs, or null for the ticked lines (an empty selection is a third thing).
    expect(record.panels.map((p) => p.selectedSkuIds)).toEqual([['sku-orion-pie-12'], null]);
    // The replay says which selection it priced: as the record asked it, and the cart lines that are.
    const [picked, ticked] = [await previewOf(record, record.panels[0]!), await previewOf(record, record.panels[1]!)];
    expect([picked.selectedSkuIds, picked.previewedSkuIds]).toEqual([['sku-orion-pie-12'], ['sku-orion-pie-12']]);
    expect([ticked.selectedSkuIds, ticked.previewedSkuIds]).toEqual([null, ['sku-mengniu-milk-4x250', 'sku-nongfu-550ml', 'sku-oreo-116g']]);
  });

  it('names the failed upstreams as the answer does, in the record and in its replay alike', async () => {
    h.demo.setFaults('settlement:error:503');
    try {
      const { data, record } = await ask(TWO_SELECTIONS);
      expect(data.picked!.failedUpstreams).toEqual(['SETTLEMENT']);
      expect(record.panels.map((p) => p.failedUpstreams)).toEqual([['SETTLEMENT'], ['SETTLEMENT']]);
      // The replay spells them as the record does: a difference in case is not a difference.
      const replayed = await previewOf(record, record.panels[0]!);
      expect(replayed.failedUpstreams).toEqual(['SETTLEMENT']);
      expect(replayed.panels.map((p) => p.failedUpstreams)).toEqual([['SETTLEMENT']]);
    } finally {
      h.demo.setFaults('');
    }
  });

  it('names no trace when the request was not traced (tracing is off)', async () => {
    const { record } = await ask(TWO_SELECTIONS);
    expect(record).not.toHaveProperty('traceId');
  });
});

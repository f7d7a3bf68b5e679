import { request } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.ts';
import { expectAlive, measureWithin, timedPost } from '../support/measure.ts';
import { callCounts } from '../support/upstream-fakes.ts';

/** Refusing a query is parse and validation work only: far below any upstream round trip. */
const FAST_MS = 100;

describe('hostile queries (limits.maxDepth 8, maxAliases 15, maxTokens 1000, bodyLimitBytes 65536)', () => {
  let h: Harness;
  let auth: Record<string, string>;
  beforeAll(async () => {
    h = await startHarness({ config: { limits: { requestDeadlineMs: 250 } } });
    auth = { authorization: `Bearer ${await h.token('u1001')}` };
    expect(h.config.limits).toMatchObject({ maxDepth: 8, maxAliases: 15, maxTokens: 1000 });
  });
  afterAll(() => h.close());
  beforeEach(() => h.demo.resetCalls());

  /** Sends `body` a few times: each answer is `status` with `code`, no data, fast, and no upstream was called. */
  async function expectRefused(body: unknown, status: number, code: string, message: RegExp): Promise<void> {
    const { runs, medianMs } = await measureWithin(() => timedPost(h.url, body, auth), FAST_MS, 3);
    for (const run of runs) {
      expect(run.status).toBe(status);
      expect(run.body.data).toBeUndefined();
      expect(run.body.errors!.map((e) => e.extensions!.code)).toContain(code);
      expect(run.body.errors!.map((e) => e.message).join('\n')).toMatch(message);
    }
    expect(medianMs).toBeLessThan(FAST_MS);
    expect(h.demo.calls()).toEqual(callCounts({ cart: 0, promotion: 0, settlement: 0, loyalty: 0 }));
    await expectAlive(h.url);
  }

  it('refuses a query nested past maxDepth through introspection with 400 QUERY_TOO_COMPLEX', async () => {
    const deep = '{ __type(name: "FloorPanel") { fields { type { ofType { ofType { ofType { ofType { ofType { ofType { name } } } } } } } } } }';
    await expectRefused({ query: deep }, 400, 'QUERY_TOO_COMPLEX', /depth limit of 8 exceeded/);
  });

  it('refuses a query nested past maxDepth through fragments with 400 QUERY_TOO_COMPLEX: the fields inside them count', async () => {
    const ofTypes = (n: number): string => (n === 0 ? 'name' : `ofType { ${ofTypes(n - 1)} }`);
    const query = `{ ...Root } fragment Root on Query { __type(name: "Floor") { ...Deep } } fragment Deep on __Type { fields { type { ... on __Type { ${ofTypes(7)} } } } }`;
    await expectRefused({ query }, 400, 'QUERY_TOO_COMPLEX', /depth limit of 8 exceeded, found 11/);
  });

  it('accepts an app query written with fragments, as Apollo Kotlin and iOS generate it: a fragment is not a level', async () => {
    const query = `query CartPanel($scene: String!) { floorPanel(scene: $scene) { __typename ...PanelFields } }
      fragment PanelFields on FloorPanel { __typename scene layoutVersion degraded floors { __typename ...FloorFields } }
      fragment FloorFields on Floor { __typename code name priceText subName style sort amount { __typename ...MoneyFields } }
      fragment MoneyFields on Money { __typename minor currency }`;
    const res = await timedPost(h.url, { query, variables: { scene: 'cart-bottom-sheet' } }, auth);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.errors).toBeUndefined();
    const panel = (res.body.data as { floorPanel: { degraded: boolean; floors: Array<{ code: string; amount: { minor: number } | null }> } }).floorPanel;
    expect(panel.degraded).toBe(false);
    expect(panel.floors.map((f) => f.code)).toContain('payable');
    // A chain of fragments twelve long around one shallow field is shallow too.
    const chain = Array.from({ length: 12 }, (_, i) => `fragment F${i} on Query { ${i === 11 ? 'floorPanel(scene: "cart-bottom-sheet") { degraded }' : `...F${i + 1}`} }`);
    const chained = await timedPost(h.url, { query: `{ ...F0 } ${chain.join(' ')}` }, auth);
    expect(chained.status, JSON.stringify(chained.body)).toBe(200);
    expect(chained.body.data).toEqual({ floorPanel: { degraded: false } });
  });

  it('refuses a deep __schema introspection query with 400 QUERY_TOO_COMPLEX before running it', async () => {
    // graphql-armor leaves __schema to graphql-js' own introspection-depth rule; its rejection
    // gets the same code as armor's.
    const deep = '{ __schema { types { fields { type { fields { type { fields { type { fields { type { name } } } } } } } } } } }';
    const res = await timedPost(h.url, { query: deep }, auth);
    expect(res.status).toBe(400);
    expect(res.body.data).toBeUndefined();
    expect(res.body.errors![0]!.extensions!.code).toBe('QUERY_TOO_COMPLEX');
    expect(h.demo.calls()).toEqual(callCounts({ cart: 0, promotion: 0, settlement: 0, loyalty: 0 }));
    await expectAlive(h.url);
  });

  it('refuses an alias bomb of hundreds of aliased fields with 400 QUERY_TOO_COMPLEX', async () => {
    const aliases = Array.from({ length: 300 }, (_, i) => `a${i}: degraded`).join(' ');
    await expectRefused({ query: `{ floorPanel(scene: "cart-bottom-sheet") { ${aliases} } }` }, 400, 'QUERY_TOO_COMPLEX', /Aliases limit of 15 exceeded, found 300/);
  });

  it('counts aliases of __typename too: three hundred of them are refused', async () => {
    const aliases = Array.from({ length: 300 }, (_, i) => `t${i}: __typename`).join(' ');
    await expectRefused({ query: `{ ${aliases} }` }, 400, 'QUERY_TOO_COMPLEX', /Aliases limit of 15 exceeded, found 300/);
  });

  it('refuses sixteen aliased panels, one past maxAliases, before any upstream call', async () => {
    const panels = Array.from({ length: 16 }, (_, i) => `p${i}: floorPanel(scene: "cart-bottom-sheet") { degraded }`).join(' ');
    await expectRefused({ query: `{ ${panels} }` }, 400, 'QUERY_TOO_COMPLEX', /Aliases limit of 15 exceeded, found 16/);
  });

  it('refuses a query of more than maxTokens tokens, well under the body limit, with 400 QUERY_TOO_COMPLEX', async () => {
    const query = `{ floorPanel(scene: "cart-bottom-sheet") { ${'degraded '.repeat(1200)}} }`;
    expect(Buffer.byteLength(JSON.stringify({ query }))).toBeLessThan(h.config.server.bodyLimitBytes);
    await expectRefused({ query }, 400, 'QUERY_TOO_COMPLEX', /1000 tokens/);
  });

  it('refuses a body over bodyLimitBytes with 413 BAD_REQUEST, without reading it', async () => {
    const query = `{ floorPanel(scene: "cart-bottom-sheet") { degraded } }`;
    await expectRefused({ query, padding: 'x'.repeat(h.config.server.bodyLimitBytes) }, 413, 'BAD_REQUEST', /at most 65536 bytes/);
  });

  it('refuses a chunked body over bodyLimitBytes with 413 BAD_REQUEST, not a dropped connection', async () => {
    // No content-length: the limit can only be noticed while reading.
    const result = await new Promise<{ status: number; body: string } | { error: string }>((resolve) => {
      const req = request(`${h.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...auth } }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
      // Written in two parts, so node:http sends it chunked instead of computing a content-length.
      const body = JSON.stringify({ query: '{ __typename }', padding: 'x'.repeat(h.config.server.bodyLimitBytes + 16_384) });
      req.write(body.slice(0, 1024));
      req.end(body.slice(1024));
    });
    expect(result).toMatchObject({ status: 413 });
    expect(JSON.parse((result as { body: string }).body)).toMatchObject({
      errors: [{ extensions: { code: 'BAD_REQUEST', reason: 'FLOORPLAN_ERR_HTTP_BODY_TOO_LARGE' } }],
    });
    expect(h.demo.calls()).toEqual(callCounts({ cart: 0, promotion: 0, settlement: 0, loyalty: 0 }));
    await expectAlive(h.url);
  });
});

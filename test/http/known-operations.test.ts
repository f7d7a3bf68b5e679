/**
 * The known-operations fast path must be invisible to clients: for every kind of request, a
 * Floorplan with it answers exactly what a Floorplan without it (Apollo's pipeline for every
 * request) answers — status, content type, body — and the upstreams see the same calls.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InMemoryLRUCache } from '@apollo/utils.keyvaluecache';
import { loadServiceConfig } from '../../src/config/service-config.ts';
import { createApolloServer } from '../../src/graphql/apollo.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { startHarness, type Harness } from '../support/harness.ts';
import { metricValue, scrapeMetrics } from '../support/measure.ts';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

const PANEL = 'query Panel($scene: String!, $skus: [ID!]) { floorPanel(scene: $scene, selectedSkuIds: $skus) { scene layoutVersion degraded failedUpstreams locale floors { code name priceText amount { minor currency } subName style sort kind } } }';
const TWO_OPERATIONS = 'query A { floorPanel(scene: "cart-bottom-sheet") { layoutVersion } } query B { floorPanel(scene: "cart-bottom-sheet") { floors { code } } }';
/** Both variables have defaults, the first of a non-null type: left out, each takes its default (GraphQL spec, "Coercing Variable Values"). */
const WITH_DEFAULTS = 'query Defaults($scene: String! = "checkout-summary", $skus: [ID!] = ["sku-oreo-116g"]) { floorPanel(scene: $scene, selectedSkuIds: $skus) { scene floors { code amount { minor } } } }';
const WITH_DECISION = '{ floorPanel(scene: "cart-bottom-sheet") { decisionId floors { code } } }';

interface Sent {
  readonly body: unknown;
  readonly headers?: Record<string, string>;
  /** null: no Authorization header; a string: that raw header. Default: a valid token for u1001. */
  readonly authorization?: string | null;
}

interface Answer {
  readonly status: number;
  /** Every response header but those that differ by time or connection. */
  readonly headers: Record<string, string>;
  readonly body: string;
}

const VARYING_HEADERS = new Set(['date', 'connection', 'keep-alive']);

/** Requests of every kind a client may send, each named, with the status both paths must answer. */
const CASES: ReadonlyArray<readonly [string, Sent, number]> = [
  ['the seed panel', { body: { query: PANEL, variables: { scene: 'cart-bottom-sheet' } } }, 200],
  ['a selection of cart lines', { body: { query: PANEL, variables: { scene: 'cart-bottom-sheet', skus: ['sku-oreo-116g', 'sku-orion-pie-12'] } } }, 200],
  ['operationName picking one of two operations', { body: { query: TWO_OPERATIONS, operationName: 'B' } }, 200],
  ['the other operation of that document', { body: { query: TWO_OPERATIONS, operationName: 'A' } }, 200],
  ['an empty operationName for a known one-operation query (400)', { body: { query: PANEL, operationName: '', variables: { scene: 'cart-bottom-sheet' } } }, 400],
  ['an operationName the document does not have (400)', { body: { query: PANEL, operationName: 'Nope', variables: { scene: 'cart-bottom-sheet' } } }, 400],
  ['no operationName for a document of two operations (400)', { body: { query: TWO_OPERATIONS } }, 400],
  ['a null operationName and null variables', { body: { query: WITH_DECISION.replace('decisionId ', ''), operationName: null, variables: null } }, 200],
  ['Accept: application/graphql-response+json', { body: { query: PANEL, variables: { scene: 'cart-bottom-sheet' } }, headers: { accept: 'application/graphql-response+json' } }, 200],
  ['Accept: application/json with a wildcard', { body: { query: PANEL, variables: { scene: 'cart-bottom-sheet' } }, headers: { accept: 'application/json, */*;q=0.5' } }, 200],
  ['an Accept nobody can satisfy (406)', { body: { query: PANEL, variables: { scene: 'cart-bottom-sheet' } }, headers: { accept: 'text/plain' } }, 406],
  ['an unknown scene (a resolver error)', { body: { query: PANEL, variables: { scene: 'no-such-scene' } } }, 200],
  ['a SKU not in the cart (BAD_USER_INPUT)', { body: { query: PANEL, variables: { scene: 'cart-bottom-sheet', skus: ['sku-elsewhere'] } } }, 200],
  ['a variable of the wrong type (400)', { body: { query: PANEL, variables: { scene: 5 } } }, 400],
  ['a missing required variable (400)', { body: { query: PANEL, variables: {} } }, 400],
  ['variables that are not an object', { body: { query: PANEL, variables: [1] } }, 400],
  ['a non-null variable left out that has a default', { body: { query: WITH_DEFAULTS, variables: {} } }, 200],
  ['null for a nullable variable with a default, where its argument is non-null', { body: { query: 'query($s: String = "cart-bottom-sheet") { floorPanel(scene: $s) { degraded } }', variables: { s: null } } }, 200],
  ['no token (401)', { body: { query: PANEL, variables: { scene: 'cart-bottom-sheet' } }, authorization: null }, 401],
  ['a forged token (401)', { body: { query: PANEL, variables: { scene: 'cart-bottom-sheet' } }, authorization: 'Bearer e30.e30.c2ln' }, 401],
];

function sentFor(name: string): Sent {
  const found = CASES.find(([caseName]) => caseName === name);
  if (found === undefined) throw new Error(`no case named ${name}`);
  return found[1];
}

describe('known-operations fast path', () => {
  let fast: Harness;
  let apolloOnly: Harness;

  beforeAll(async () => {
    [fast, apolloOnly] = await Promise.all([startHarness(), startHarness({ config: { server: { fastPath: false } } })]);
  });
  afterAll(async () => {
    await Promise.all([fast?.close(), apolloOnly?.close()]);
  });

  async function send(h: Harness, sent: Sent): Promise<Answer> {
    const authorization = sent.authorization === undefined ? `Bearer ${await h.token('u1001')}` : sent.authorization;
    const response = await fetch(`${h.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(authorization === null ? {} : { authorization }), ...sent.headers },
      body: JSON.stringify(sent.body),
    });
    return {
      status: response.status,
      headers: Object.fromEntries([...response.headers].filter(([name]) => !VARYING_HEADERS.has(name))),
      body: await response.text(),
    };
  }

  const pipelineCount = async (h: Harness, pipeline: string) =>
    metricValue(await scrapeMetrics(h.url), 'floorplan_graphql_requests_total', { pipeline });

  it.each(CASES)('answers %s exactly as Apollo does, the first time and once the operation is known', async (_name, sent, status) => {
    // The first request of an operation goes through Apollo everywhere; the later ones are
    // the fast path's (where it takes them).
    for (let round = 0; round < 3; round++) {
      const answer = await send(fast, sent);
      expect(answer.status).toBe(status);
      expect(answer).toEqual(await send(apolloOnly, sent));
    }
  });

  it('serves repeats of a known operation itself, its errors too, as Apollo would answer them', async () => {
    const seed = sentFor('the seed panel');
    const unknownScene = sentFor('an unknown scene (a resolver error)');
    const badVariable = sentFor('a variable of the wrong type (400)');
    await send(fast, seed);
    const [knownBefore, apolloBefore] = [await pipelineCount(fast, 'known-operation'), await pipelineCount(fast, 'apollo')];
    for (let i = 0; i < 5; i++) expect((await send(fast, seed)).status).toBe(200);
    // A result with errors is formatted and sent here, not handed back to Apollo to run again.
    for (let i = 0; i < 2; i++) {
      const answer = await send(fast, unknownScene);
      expect(JSON.parse(answer.body).errors[0].extensions.code).toBe('BAD_USER_INPUT');
      expect(answer).toEqual(await send(apolloOnly, unknownScene));
    }
    const refused = await send(fast, badVariable);
    expect(refused).toEqual(await send(apolloOnly, badVariable));
    expect((await pipelineCount(fast, 'known-operation')) - knownBefore).toBe(8);
    expect((await pipelineCount(fast, 'apollo')) - apolloBefore).toBe(0);
    // With the fast path off, Apollo answers everything.
    expect(await pipelineCount(apolloOnly, 'known-operation')).toBe(0);
  });

  it('calls each upstream once per request on either path, errors included', async () => {
    const calls = async (h: Harness) => {
      const text = await scrapeMetrics(h.url);
      return ['cart', 'promotion', 'settlement'].map((upstream) => metricValue(text, 'floorplan_upstream_requests_total', { upstream, outcome: 'ok' }));
    };
    const seed = sentFor('the seed panel');
    const foreignSku = sentFor('a SKU not in the cart (BAD_USER_INPUT)');
    for (const h of [fast, apolloOnly]) await send(h, seed);
    const before = await Promise.all([calls(fast), calls(apolloOnly)]);
    for (const h of [fast, apolloOnly]) {
      for (let i = 0; i < 4; i++) await send(h, seed);
      await send(h, foreignSku);
    }
    const after = await Promise.all([calls(fast), calls(apolloOnly)]);
    const delta = (i: number) => after[i]!.map((n, k) => n - before[i]![k]!);
    // Four panels call all three; the foreign SKU is refused after the cart call alone.
    expect(delta(0)).toEqual([5, 4, 4]);
    expect(delta(1)).toEqual([5, 4, 4]);
  });

  it('takes the defaults of variables left out, a non-null one too, on either path', async () => {
    const defaults = sentFor('a non-null variable left out that has a default');
    const given: Sent = { body: { query: WITH_DEFAULTS.replace(/ = [^,)]+/g, ''), variables: { scene: 'checkout-summary', skus: ['sku-oreo-116g'] } } };
    const expected = JSON.parse((await send(apolloOnly, given)).body) as { data?: { floorPanel: { scene: string; floors: unknown[] } } };
    expect(expected.data?.floorPanel.scene).toBe('checkout-summary');
    expect(expected.data?.floorPanel.floors.length).toBeGreaterThan(1);
    for (let round = 0; round < 3; round++) {
      for (const h of [fast, apolloOnly]) expect(JSON.parse((await send(h, defaults)).body)).toEqual(expected);
    }
  });

  it('gives every request its own decisionId on the fast path', async () => {
    const sent: Sent = { body: { query: WITH_DECISION } };
    const ids = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const answer = JSON.parse((await send(fast, sent)).body) as { data: { floorPanel: { decisionId: string } } };
      ids.add(answer.data.floorPanel.decisionId);
    }
    expect(ids.size).toBe(4);
  });

  it('answers a persisted-query hash only once Apollo has registered it, as Apollo does', async () => {
    const query = '{ floorPanel(scene: "cart-bottom-sheet") { layoutVersion floors { code priceText } } }';
    const hashOnly: Sent = { body: { extensions: { persistedQuery: { version: 1, sha256Hash: sha256(query) } } } };
    const register: Sent = { body: { query, extensions: { persistedQuery: { version: 1, sha256Hash: sha256(query) } } } };
    // The plain text alone does not register the hash anywhere.
    for (const h of [fast, apolloOnly]) await send(h, { body: { query } });
    const notFound = await send(fast, hashOnly);
    expect(JSON.parse(notFound.body).errors[0].extensions.code).toBe('PERSISTED_QUERY_NOT_FOUND');
    expect(notFound).toEqual(await send(apolloOnly, hashOnly));
    expect(await send(fast, register)).toEqual(await send(apolloOnly, register));
    const knownBefore = await pipelineCount(fast, 'known-operation');
    for (let i = 0; i < 3; i++) {
      const answer = await send(fast, hashOnly);
      expect(answer.status).toBe(200);
      expect(answer).toEqual(await send(apolloOnly, hashOnly));
    }
    expect((await pipelineCount(fast, 'known-operation')) - knownBefore).toBe(3);
  });

  it('refuses extra Apollo plugins at start while the fast path is on, which would skip them silently', () => {
    const { limits, server } = loadServiceConfig({ env: {} });
    const persistedQueryBudget = { budget: { take: () => ({ allowed: true, retryAfterMs: 0 }) }, perDay: 50 };
    const options = { logger: createLogger('silent'), introspection: false, limits, persistedQueries: new InMemoryLRUCache<string>(), persistedQueryBudget, plugins: [{}] };
    expect(server.fastPath).toBe(true);
    expect(() => createApolloServer({ ...options, fastPath: true })).toThrow(/extra Apollo plugins would be skipped by the known-operations fast path/);
    expect(() => createApolloServer({ ...options, fastPath: false })).not.toThrow();
  });
});

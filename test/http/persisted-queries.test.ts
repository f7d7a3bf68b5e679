import { createHash } from 'node:crypto';
import { ApolloClient, HttpLink, InMemoryCache, gql, type TypedDocumentNode } from '@apollo/client';
import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FloorplanServer } from '../../src/app.ts';
import { PANEL_QUERY, startHarness, type Harness, type PanelResult } from '../support/harness.ts';
import { metricValue, scrapeMetrics, timedPost } from '../support/measure.ts';
import { HAS_REDIS_SERVER, startPrivateRedis, type PrivateRedis } from '../support/redis-server.ts';
import { startReplica } from '../support/replica.ts';
import { callCounts } from '../support/upstream-fakes.ts';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

const PANEL = gql(PANEL_QUERY) as TypedDocumentNode<PanelResult, { scene: string }>;
/** Another operation, so a hash can be registered while Redis is down. */
const PAYABLE = gql(`
  query Payable($scene: String!) { floorPanel(scene: $scene) { layoutVersion floors { code priceText } } }
`) as TypedDocumentNode<{ floorPanel: { layoutVersion: string; floors: Array<{ code: string; priceText: string | null }> } }, { scene: string }>;

interface SentBody {
  query?: string;
  extensions?: { persistedQuery?: { version: number; sha256Hash: string } };
}

describe.skipIf(!HAS_REDIS_SERVER)('Automatic Persisted Queries with Apollo Client, shared through Redis', () => {
  let redis: PrivateRedis;
  let h: Harness;
  let replica: FloorplanServer;
  let token: string;
  /** Every body any client below sent, in order. */
  const sent: SentBody[] = [];

  beforeAll(async () => {
    redis = await startPrivateRedis();
    h = await startHarness({ config: { redis: { url: redis.url } } });
    replica = await startReplica(h);
    token = await h.token('u1001');
  });
  afterAll(async () => {
    await replica?.stop();
    await h?.close();
    await redis?.stop();
  });

  /** A fresh Apollo Client (its own cache and hash cache) on `url`, through the persisted-query link. */
  function client(url: string): ApolloClient {
    const recordingFetch: typeof fetch = (input, init) => {
      sent.push(JSON.parse(String(init?.body)) as SentBody);
      return fetch(input, init);
    };
    const http = new HttpLink({ uri: `${url}/graphql`, fetch: recordingFetch, headers: { authorization: `Bearer ${token}`, 'accept-language': 'zh-CN' } });
    return new ApolloClient({ link: new PersistedQueryLink({ sha256 }).concat(http), cache: new InMemoryCache() });
  }

  /** Runs `fn` and returns how many bodies it sent and how many of those carried query text. */
  async function counting<T>(fn: () => Promise<T>): Promise<{ value: T; bodies: SentBody[] }> {
    const from = sent.length;
    const value = await fn();
    return { value, bodies: sent.slice(from) };
  }
  const withQueryText = (bodies: readonly SentBody[]) => bodies.filter((b) => typeof b.query === 'string').length;

  const hashOnly = (url: string, sha256Hash: string, operation = 'Panel') =>
    timedPost<PanelResult>(url, { operationName: operation, variables: { scene: 'cart-bottom-sheet' }, extensions: { persistedQuery: { version: 1, sha256Hash } } }, { authorization: `Bearer ${token}` });

  /** The hash Apollo Client registered for PANEL (it hashes the printed document, __typename added). */
  let panelHash: string;

  it('answers a hash it has never seen with PERSISTED_QUERY_NOT_FOUND, calling no upstream', async () => {
    h.demo.resetCalls();
    const res = await hashOnly(h.url, sha256(PANEL_QUERY));
    expect(res.body.data).toBeUndefined();
    expect(res.body.errors).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: 'PERSISTED_QUERY_NOT_FOUND' }) })]);
    expect(h.demo.calls()).toEqual(callCounts({ cart: 0, promotion: 0, settlement: 0, loyalty: 0 }));
  });

  it('lets Apollo Client register the query on first use and renders the panel', async () => {
    const { value, bodies } = await counting(() => client(h.url).query({ query: PANEL, variables: { scene: 'cart-bottom-sheet' }, fetchPolicy: 'network-only' }));
    // The hash first; the server does not know it; the same request again with the query text.
    expect(bodies).toHaveLength(2);
    expect(bodies[0]!.query).toBeUndefined();
    expect(typeof bodies[1]!.query).toBe('string');
    panelHash = bodies[0]!.extensions!.persistedQuery!.sha256Hash;
    expect(panelHash).toBe(sha256(bodies[1]!.query!));
    const panel = value.data!.floorPanel;
    expect(panel.degraded).toBe(false);
    expect(panel.floors.map((f) => f.code)).toEqual(['spze', 'lj', 'coupon', 'plus95', 'shipping', 'plus-rebate', 'payable']);
    expect(panel.floors.at(-1)).toMatchObject({ priceText: '¥8.86', amount: { minor: 886 } });
  });

  it('sends the hash alone from then on: a second client with a fresh cache sends no query text', async () => {
    const second = client(h.url);
    const { value, bodies } = await counting(async () => {
      const results = [];
      for (let i = 0; i < 3; i++) results.push(await second.query({ query: PANEL, variables: { scene: 'cart-bottom-sheet' }, fetchPolicy: 'network-only' }));
      return results;
    });
    expect(bodies).toHaveLength(3);
    expect(withQueryText(bodies)).toBe(0);
    for (const result of value) expect(result.data!.floorPanel.floors.at(-1)).toMatchObject({ code: 'payable', priceText: '¥8.86' });
  });

  it('lets a second instance on the same Redis answer the hash alone with data at once', async () => {
    const res = await hashOnly(replica.url, panelHash);
    expect(res.status).toBe(200);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data!.floorPanel.floors.at(-1)).toMatchObject({ code: 'payable', priceText: '¥8.86' });
    expect(metricValue(await scrapeMetrics(replica.url), 'floorplan_cache_requests_total', { cache: 'apq', layer: 'l2', result: 'hit' })).toBeGreaterThan(0);
    // And Apollo Client, pointed at that instance, never sends the text either.
    const { bodies } = await counting(() => client(replica.url).query({ query: PANEL, variables: { scene: 'cart-bottom-sheet' }, fetchPolicy: 'network-only' }));
    expect(withQueryText(bodies)).toBe(0);
  });

  it('keeps persisted queries working on each instance while Redis is down', async () => {
    await redis.stop();
    try {
      // What an instance already knows, it still answers from the hash.
      const known = await counting(() => client(h.url).query({ query: PANEL, variables: { scene: 'cart-bottom-sheet' }, fetchPolicy: 'network-only' }));
      expect(withQueryText(known.bodies)).toBe(0);
      expect(known.value.data!.floorPanel.degraded).toBe(false);

      // A new query registers on the replica, which then answers its hash alone...
      const registered = await counting(() => client(replica.url).query({ query: PAYABLE, variables: { scene: 'cart-bottom-sheet' }, fetchPolicy: 'network-only' }));
      expect(withQueryText(registered.bodies)).toBe(1);
      expect(registered.value.data!.floorPanel.floors.at(-1)).toEqual({ __typename: 'Floor', code: 'payable', priceText: '¥8.86' });
      const payableHash = registered.bodies[0]!.extensions!.persistedQuery!.sha256Hash;
      const again = await counting(() => client(replica.url).query({ query: PAYABLE, variables: { scene: 'cart-bottom-sheet' }, fetchPolicy: 'network-only' }));
      expect(withQueryText(again.bodies)).toBe(0);

      // ...but could not share it: the other instance asks for the text, and the client sends it.
      const elsewhere = await hashOnly(h.url, payableHash, 'Payable');
      expect(elsewhere.body.errors![0]!.extensions!.code).toBe('PERSISTED_QUERY_NOT_FOUND');
      const fallback = await counting(() => client(h.url).query({ query: PAYABLE, variables: { scene: 'cart-bottom-sheet' }, fetchPolicy: 'network-only' }));
      expect(withQueryText(fallback.bodies)).toBe(1);
      expect(fallback.value.data!.floorPanel.floors.at(-1)).toMatchObject({ code: 'payable', priceText: '¥8.86' });
    } finally {
      await redis.start();
    }
  });
});

describe.skipIf(!HAS_REDIS_SERVER)('persisted-query registration cannot fill the shared Redis', () => {
  let redis: PrivateRedis;
  let h: Harness;
  let token: string;
  let client: import('ioredis').Redis;

  beforeAll(async () => {
    redis = await startPrivateRedis();
    h = await startHarness({ config: { redis: { url: redis.url } } });
    token = await h.token('u1001');
    const { Redis } = await import('ioredis');
    client = new Redis(redis.url);
  });
  afterAll(async () => {
    client?.disconnect();
    await h?.close();
    await redis?.stop();
  });

  const register = (query: string) =>
    timedPost<PanelResult>(h.url, { query, variables: { scene: 'cart-bottom-sheet' }, extensions: { persistedQuery: { version: 1, sha256Hash: sha256(query) } } }, { authorization: `Bearer ${token}` });
  const hashOnly = (query: string) =>
    timedPost<PanelResult>(h.url, { variables: { scene: 'cart-bottom-sheet' }, extensions: { persistedQuery: { version: 1, sha256Hash: sha256(query) } } }, { authorization: `Bearer ${token}` });

  it('stores a query the app sends for one day at most', async () => {
    const res = await register(PANEL_QUERY);
    expect(res.status).toBe(200);
    const key = `${h.config.redis.keyPrefix}apq:${sha256(PANEL_QUERY)}`;
    expect(await client.get(key)).toBe(PANEL_QUERY);
    const ttlMs = await client.pttl(key);
    expect(ttlMs).toBeGreaterThan(0);
    expect(ttlMs).toBeLessThanOrEqual(24 * 3600 * 1000);
  });

  it('runs a query padded past 8 KiB with a comment but stores nothing, in Redis or in the process', async () => {
    const padded = `${PANEL_QUERY}\n# ${'x'.repeat(60_000)}\n`;
    const before = await client.keys(`${h.config.redis.keyPrefix}apq:*`);
    const res = await register(padded);
    expect(res.status).toBe(200);
    expect(res.body.data?.floorPanel.scene).toBe('cart-bottom-sheet');
    expect(await client.keys(`${h.config.redis.keyPrefix}apq:*`)).toEqual(before);
    // Twice: once through Apollo, once more where the fast path could have remembered the hash.
    for (let i = 0; i < 2; i++) {
      const again = await hashOnly(padded);
      expect(again.body.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_FOUND');
    }
  });
});

describe.skipIf(!HAS_REDIS_SERVER)("a user's budget of new persisted queries, shared by the replicas through Redis", () => {
  /** Small, so the test spends it in a few requests; the default is in config/default.yaml. */
  const BUDGET = 5;
  let redis: PrivateRedis;
  let h: Harness;
  let replica: FloorplanServer;
  let keys: import('ioredis').Redis;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    redis = await startPrivateRedis();
    h = await startHarness({ config: { redis: { url: redis.url }, limits: { persistedQueryRegistrationsPerDay: BUDGET } } });
    replica = await startReplica(h);
    for (const user of ['u-spender', 'u-other']) tokens[user] = await h.token(user);
    const { Redis } = await import('ioredis');
    keys = new Redis(redis.url);
  });
  afterAll(async () => {
    keys?.disconnect();
    await replica?.stop();
    await h?.close();
    await redis?.stop();
  });

  /** The reviewer's query: valid, under 8 KiB and the token limit, made unique by a comment. */
  const padded = (i: number) => `# ${i} ${'x'.repeat(8000)}\n{ __typename }`;
  const apqKeys = async () => (await keys.keys(`${h.config.redis.keyPrefix}apq:*`)).sort();
  const keyOf = (query: string) => `${h.config.redis.keyPrefix}apq:${sha256(query)}`;

  interface Answer {
    data?: { __typename?: string };
    errors?: Array<{ message: string; extensions?: { code?: string } }>;
    extensions?: { persistedQuery?: { stored?: boolean; reason?: string; message?: string } };
  }
  const register = (url: string, user: string, query: string) =>
    timedPost<Answer['data']>(url, { query, extensions: { persistedQuery: { version: 1, sha256Hash: sha256(query) } } }, { authorization: `Bearer ${tokens[user]}` }) as Promise<{ status: number; body: Answer }>;
  const hashOnly = (url: string, user: string, query: string) =>
    timedPost<Answer['data']>(url, { extensions: { persistedQuery: { version: 1, sha256Hash: sha256(query) } } }, { authorization: `Bearer ${tokens[user]}` }) as Promise<{ status: number; body: Answer }>;
  const refusedOn = async (url: string) => metricValue(await scrapeMetrics(url), 'floorplan_apq_registrations_total', { outcome: 'refused' });

  it("stores a user's new queries up to the budget, on either replica, then runs the rest without storing them", async () => {
    const before = await apqKeys();
    for (let i = 0; i < BUDGET; i++) {
      const res = await register(i % 2 === 0 ? h.url : replica.url, 'u-spender', padded(i));
      expect(res.status).toBe(200);
      expect(res.body.data).toEqual({ __typename: 'Query' });
      expect(res.body.extensions).toBeUndefined();
    }
    expect(await apqKeys()).toEqual([...before, ...Array.from({ length: BUDGET }, (_, i) => keyOf(padded(i)))].sort());

    const over = [];
    for (let i = BUDGET; i < 2 * BUDGET; i++) over.push(await register(i % 2 === 0 ? h.url : replica.url, 'u-spender', padded(i)));
    expect(await apqKeys()).toHaveLength(before.length + BUDGET);
    for (const res of over) {
      // The query still runs: Apollo Client sends the text only after PERSISTED_QUERY_NOT_FOUND, and
      // reports any error on that request to the app; an over-budget app keeps working.
      expect(res.status).toBe(200);
      expect(res.body.data).toEqual({ __typename: 'Query' });
      expect(res.body.errors).toBeUndefined();
      expect(res.body.extensions?.persistedQuery).toEqual({ stored: false, reason: 'REGISTRATION_BUDGET_EXCEEDED', message: expect.stringContaining(`${BUDGET} new persisted queries a day`) });
    }
    expect((await refusedOn(h.url)) + (await refusedOn(replica.url))).toBe(BUDGET);

    // Not stored anywhere: twice per instance, once through Apollo and once where the fast path could have remembered it.
    for (const url of [h.url, h.url, replica.url, replica.url]) {
      const res = await hashOnly(url, 'u-spender', padded(BUDGET));
      expect(res.body.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_FOUND');
    }
  });

  it('leaves another user their own budget', async () => {
    const before = await apqKeys();
    for (let i = 100; i < 100 + BUDGET; i++) {
      const res = await register(replica.url, 'u-other', padded(i));
      expect(res.body.extensions).toBeUndefined();
    }
    expect(await apqKeys()).toHaveLength(before.length + BUDGET);
    expect(await keys.get(keyOf(padded(100)))).toBe(padded(100));
  });

  it('keeps hashes already stored working for everyone, the user over budget included, without spending budget', async () => {
    const before = await apqKeys();
    const refused = (await refusedOn(h.url)) + (await refusedOn(replica.url));
    for (const user of ['u-spender', 'u-other']) {
      for (const query of [padded(0), padded(100)]) {
        for (const url of [h.url, replica.url]) {
          const res = await hashOnly(url, user, query);
          expect(res.body).toEqual({ data: { __typename: 'Query' } });
        }
      }
    }
    // Sending the text of a stored hash again (as some clients always do) is no new registration.
    const again = await register(h.url, 'u-spender', padded(1));
    expect(again.body).toEqual({ data: { __typename: 'Query' } });
    expect(await apqKeys()).toEqual(before);
    expect((await refusedOn(h.url)) + (await refusedOn(replica.url))).toBe(refused);
  });

  it('lets Apollo Client of a user over budget run a new query: it sends the text and gets the data', async () => {
    const http = new HttpLink({ uri: `${h.url}/graphql`, headers: { authorization: `Bearer ${tokens['u-spender']}`, 'accept-language': 'zh-CN' } });
    const apollo = new ApolloClient({ link: new PersistedQueryLink({ sha256 }).concat(http), cache: new InMemoryCache() });
    const before = await apqKeys();
    const result = await apollo.query({ query: PAYABLE, variables: { scene: 'cart-bottom-sheet' }, fetchPolicy: 'network-only' });
    expect(result.error).toBeUndefined();
    expect(result.data!.floorPanel.floors.at(-1)).toMatchObject({ code: 'payable', priceText: expect.stringMatching(/^¥/) });
    expect(await apqKeys()).toEqual(before);
  });

  it('keeps a budget per instance while Redis is down', async () => {
    tokens['u-during-outage'] = await h.token('u-during-outage');
    await redis.stop();
    try {
      const notices = [];
      for (let i = 200; i <= 200 + BUDGET; i++) notices.push((await register(h.url, 'u-during-outage', padded(i))).body.extensions?.persistedQuery?.reason);
      expect(notices).toEqual([...Array<undefined>(BUDGET).fill(undefined), 'REGISTRATION_BUDGET_EXCEEDED']);
    } finally {
      await redis.start();
    }
  });
});

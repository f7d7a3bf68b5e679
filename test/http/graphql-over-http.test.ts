import { serverAudits } from 'graphql-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.ts';

describe('GraphQL over HTTP compliance (graphql-http serverAudits)', () => {
  let h: Harness;
  let token: string;
  beforeAll(async () => {
    h = await startHarness();
    token = await h.token('u1001');
  });
  afterAll(() => h.close());

  it('passes every MUST audit against the running server', async () => {
    // The audits send their own requests; every one carries a valid token, as a real app's would.
    const fetchFn: typeof fetch = (input, init) => {
      const headers = new Headers(init?.headers);
      headers.set('authorization', `Bearer ${token}`);
      return fetch(input, { ...init, headers });
    };
    const audits = serverAudits({ url: `${h.url}/graphql`, fetchFn });
    const results = await Promise.all(audits.map(async (audit) => ({ name: audit.name, result: await audit.fn() })));
    const mustFailures = results
      .filter(({ name, result }) => name.startsWith('MUST') && result.status !== 'ok')
      .map(({ name, result }) => `${name}: ${result.status === 'ok' ? '' : result.reason}`);
    expect(mustFailures).toEqual([]);
    expect(results.filter(({ name }) => name.startsWith('MUST')).length).toBeGreaterThan(10);
    const summary = results.reduce<Record<string, number>>((acc, { result }) => ({ ...acc, [result.status]: (acc[result.status] ?? 0) + 1 }), {});
    expect(summary.error ?? 0).toBe(0);
  });
});

/**
 * The request pipeline on its own: identity → rate limit → viewer → flags → loaders →
 * deadline, with fakes for what is outside it. What a caller sees: the client error each
 * refusal becomes, the viewer the headers make, the upstreams a kill switch keeps quiet, and
 * the preview assembling exactly what a request with the same headers gets.
 */
import type { IncomingMessage } from 'node:http';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ErrorCode, FloorplanError, toClientError, type ClientError } from '../../src/errors.ts';
import type { RequestFlags } from '../../src/flags/request-flags.ts';
import { panelArgumentProblem, RequestPipeline, type RequestContext, type RequestPipelineDeps } from '../../src/pipeline/request-pipeline.ts';
import type { UpstreamClients } from '../../src/upstreams/clients.ts';
import type { Viewer } from '../../src/viewer/viewer.ts';
import { cartFixture, promotionFixture, quoteFixture } from '../floors/builders/fixtures.ts';
import { unusedCalls } from '../support/upstream-fakes.ts';

const GOOD = 'Bearer good';

function fakeClients() {
  const calls: string[] = [];
  const clients: UpstreamClients = {
    // Any upstream not faked below (loyalty, and any added since) is not used by these tests.
    ...unusedCalls(),
    async cart() {
      calls.push('cart');
      return cartFixture();
    },
    async promotion() {
      calls.push('promotion');
      return promotionFixture();
    },
    async loyalty() {
      calls.push('loyalty');
      throw new Error('loyalty is not used by this test');
    },
    async settlement(request) {
      calls.push('settlement');
      return { quotes: request.quotes.map((q) => ({ ...quoteFixture(), quoteId: q.quoteId, lines: q.lines })) };
    },
    async close() {},
  };
  return { clients, calls };
}

function pipeline(overrides: Partial<RequestPipelineDeps> = {}) {
  const { clients, calls } = fakeClients();
  const logs: Array<{ level: number; msg: string }> = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => logs.push(JSON.parse(line) as { level: number; msg: string }) });
  const taken: string[] = [];
  const evaluated: Viewer[] = [];
  const deps: RequestPipelineDeps = {
    async verify(authorization) {
      if (authorization === GOOD) return { userId: 'u-test', segments: ['plus'] };
      if (authorization === 'Bearer keys-down') throw new FloorplanError(ErrorCode.AUTH_KEYS_UNAVAILABLE, {}, { cause: new Error('JWKS unreachable') });
      throw new FloorplanError(ErrorCode.AUTH_INVALID_TOKEN, { reason: 'signature verification failed' });
    },
    limiter: {
      async take(userId) {
        taken.push(userId);
        return userId === 'u-limited' ? { allowed: false, retryAfterMs: 1500 } : { allowed: true, retryAfterMs: 0 };
      },
    },
    flags: {
      evaluate(viewer): RequestFlags {
        evaluated.push(viewer);
        return { isEnabled: (flag: string) => flag === 'floorplan.kill.promotion', variant: () => ({ name: 'disabled', enabled: false }), decisions: () => ({}) } as unknown as RequestFlags;
      },
    },
    clients,
    locales: ['zh-CN', 'en'],
    killFlag: (upstream) => `floorplan.kill.${upstream}`,
    upstreamBudgetMs: 200,
    logger,
    ...overrides,
  };
  return { p: new RequestPipeline(deps), calls, logs, taken, evaluated };
}

function request(headers: Record<string, string>): IncomingMessage {
  return { headers } as unknown as IncomingMessage;
}

/** A refusal comes back as a rejected promise (never thrown, never a context): the catalogue error in it, as the client gets it. */
async function refusal(result: unknown): Promise<ClientError> {
  expect(result).toBeInstanceOf(Promise);
  const error = await (result as Promise<unknown>).then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(FloorplanError);
  return toClientError(error);
}

describe('the request pipeline', () => {
  it('assembles the viewer from the token and the headers, flags from the viewer, and loaders that honour kill switches', async () => {
    const { p, calls, taken } = pipeline();
    const ctx = await p.forRequest(
      request({ authorization: GOOD, 'x-app-platform': 'ios', 'x-app-version': '12.3.4 (5678)', 'x-session-id': 's:1', 'accept-language': 'en-US,en;q=0.9' }),
      performance.now(),
    );
    expect(ctx.viewer).toMatchObject({ userId: 'u-test', segments: ['plus'], platform: 'ios', appVersion: '12.3.4+5678', sessionId: 's:1', locale: 'en' });
    expect(taken).toEqual(['u-test']);
    expect(ctx.decisionId).toMatch(/^[0-9a-f-]{36}$/);
    const data = ctx.scope.panelData();
    await data.quote();
    await expect(data.promotion()).rejects.toMatchObject({ upstream: 'promotion', outcome: 'killed' });
    expect(calls).toEqual(['cart', 'settlement']);
  });

  it('answers a bad token with UNAUTHENTICATED (401), logged at debug only, before taking a rate-limit token', async () => {
    const { p, taken, logs } = pipeline();
    const error = await refusal(p.forRequest(request({ authorization: 'Bearer forged' }), performance.now()));
    expect({ status: error.status, ...error.extensions }).toMatchObject({ code: 'UNAUTHENTICATED', status: 401 });
    expect(error.message).toBe('signature verification failed');
    expect(taken).toEqual([]);
    expect(logs.map((l) => l.level)).toEqual([20]);
  });

  it('answers unreachable signing keys with SERVICE_UNAVAILABLE (503), not 401, and warns', async () => {
    const { p, logs } = pipeline();
    const error = await refusal(p.forRequest(request({ authorization: 'Bearer keys-down' }), performance.now()));
    expect({ status: error.status, ...error.extensions }).toMatchObject({ code: 'SERVICE_UNAVAILABLE', status: 503 });
    expect(logs.map((l) => l.level)).toEqual([40]);
  });

  it('answers a user over the rate limit with RATE_LIMITED (429) and Retry-After in whole seconds', async () => {
    const { p } = pipeline({ verify: async () => ({ userId: 'u-limited', segments: [] }) });
    const error = await refusal(p.forRequest(request({ authorization: GOOD }), performance.now()));
    expect({ status: error.status, ...error.extensions }).toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: 2000, status: 429 });
    expect(error.headers).toMatchObject({ 'retry-after': '2' });
  });

  it('makes the context at once when nothing must be waited for, and still refuses with a rejected promise, never a throw', async () => {
    const taken: string[] = [];
    const { p } = pipeline({
      // A token verified before and a limit decided in this process: no promise anywhere.
      verify(authorization) {
        if (authorization === GOOD) return { userId: 'u-test', segments: [] };
        if (authorization === 'Bearer limited') return { userId: 'u-limited', segments: [] };
        throw new FloorplanError(ErrorCode.AUTH_INVALID_TOKEN, { reason: 'signature verification failed' });
      },
      limiter: {
        take(userId) {
          taken.push(userId);
          return userId === 'u-limited' ? { allowed: false, retryAfterMs: 1500 } : { allowed: true, retryAfterMs: 0 };
        },
      },
    });
    const ctx = p.forRequest(request({ authorization: GOOD }), performance.now());
    expect(ctx).not.toBeInstanceOf(Promise);
    expect((ctx as RequestContext).viewer.userId).toBe('u-test');

    const forged = await refusal(p.forRequest(request({ authorization: 'Bearer forged' }), performance.now()));
    expect({ status: forged.status, ...forged.extensions }).toMatchObject({ code: 'UNAUTHENTICATED', status: 401 });
    const limited = await refusal(p.forRequest(request({ authorization: 'Bearer limited' }), performance.now()));
    expect({ status: limited.status, ...limited.extensions }).toMatchObject({ code: 'RATE_LIMITED', status: 429 });
    expect(taken).toEqual(['u-test', 'u-limited']);
  });

  it('starts the deadline at admission: a request admitted longer ago than the budget has none left', async () => {
    const { p } = pipeline();
    const ctx = await p.forRequest(request({ authorization: GOOD }), performance.now() - 500);
    expect(ctx.deadline.passed).toBe(true);
    const fresh = await p.forRequest(request({ authorization: GOOD }), performance.now());
    expect(fresh.deadline.remainingMs()).toBeGreaterThan(100);
  });

  it('builds a preview exactly as a request with the same identity and headers, without a token or a rate-limit token', async () => {
    const headers = { 'x-app-platform': 'android', 'x-app-version': '12.0.0-beta.2', 'x-session-id': 'c2Vzc2lvbg==', 'accept-language': 'zh-CN' };
    const { p, taken, evaluated } = pipeline();
    const real = await p.forRequest(request({ authorization: GOOD, ...headers }), performance.now());
    const preview = p.forPreview({ userId: 'u-test', segments: ['plus'] }, (name) => headers[name as keyof typeof headers]);
    expect(preview.viewer).toEqual(real.viewer);
    expect(evaluated).toEqual([real.viewer, real.viewer]);
    expect(taken).toEqual(['u-test']);
    await expect(preview.scope.panelData().promotion()).rejects.toMatchObject({ outcome: 'killed' });
  });
});

describe('panel arguments', () => {
  const catalogue = { hasScene: (s: string) => ['a', 'b'].includes(s), scenes: () => ['a', 'b'] };
  it('names the argument and what is allowed', () => {
    expect(panelArgumentProblem(catalogue, 'c', undefined)).toEqual({ argument: 'scene', message: 'scene must be one of "a", "b", but got: "c"' });
    expect(panelArgumentProblem(catalogue, 'a', Array.from({ length: 501 }, (_, i) => `s${i}`))).toEqual({
      argument: 'selectedSkuIds',
      message: 'selectedSkuIds must list at most 500 SKUs, but got: 501',
    });
    expect(panelArgumentProblem(catalogue, 'a', null)).toBeUndefined();
  });
});

/**
 * Remote mode against servers that misbehave: nothing listening, a request held open across
 * stop(), an Unleash stand-in that only answers after a while. The process must never see an
 * uncaught exception or unhandled rejection from the Unleash client.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FlagService } from '../../src/flags/flag-service.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { createMetrics } from '../../src/observability/metrics.ts';
import { freePort } from '../support/processes.ts';
import { resolveTwoAddressHost, TWO_ADDRESS_HOST } from '../support/two-address-host.ts';
import { eventually, flagsConfig, recordingLogger, ROOT, viewer } from './support.ts';

const crashes: unknown[] = [];
const onCrash = (error: unknown) => crashes.push(error);
const cleanups: Array<() => Promise<void>> = [];

beforeEach(() => {
  crashes.length = 0;
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  process.off('uncaughtException', onCrash);
  process.off('unhandledRejection', onCrash);
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api` };
}

/** The shipped flags as Unleash would serve them, but with the promotion kill switch ON. */
const SERVED = {
  version: 2,
  features: [
    { name: 'floorplan.kill.promotion', type: 'kill-switch', enabled: true, strategies: [{ name: 'default', parameters: {}, constraints: [] }], variants: [] },
    { name: 'floor.plus-rebate', type: 'release', enabled: false, strategies: [{ name: 'default', parameters: {}, constraints: [] }], variants: [] },
  ],
};

describe('FlagService in remote mode', () => {
  it('starts with the bootstrap file when Unleash is unreachable, survives the failed fetches, and stops cleanly', async () => {
    const { logger, lines } = recordingLogger();
    const service = await FlagService.start(
      flagsConfig({ unleashUrl: 'http://127.0.0.1:9/api', unleashToken: 'default:development.test', refreshIntervalMs: 200 }),
      logger,
      { root: ROOT, startTimeoutMs: 1_000 },
    );
    expect(service.mode).toBe('remote');
    expect(service.servingFrom).toBe('file');
    const flags = service.evaluate(viewer());
    expect(flags.isEnabled('floor.plus-rebate')).toBe(true);
    expect(flags.isEnabled('floorplan.kill.promotion')).toBe(false);
    expect(flags.variant('layout.cart-bottom-sheet').name).toBe('default');
    expect(lines.some((l) => l.msg === 'flags: Unleash has not answered yet; serving the flags of config/flags.json until it does')).toBe(true);

    // The client retries a refused connection twice (about 3 s) before it reports the fetch failed.
    const failedFetch = (l: { msg: string }) => l.msg.includes('/api/client/features failed') && l.msg.includes('ECONNREFUSED');
    await eventually('a fetch of the flags failed', () => lines.some(failedFetch), 10_000);
    await sleep(1_000);

    expect(service.evaluate(viewer()).isEnabled('floor.plus-rebate')).toBe(true);
    // One line says Unleash is unreachable; the repeats go to debug, not one line per poll.
    expect(lines.filter((l) => l.level >= 40 && l.msg.startsWith('flags: Unleash:'))).toHaveLength(1);

    await service.stop();
    await service.stop();
    await sleep(500);
    expect(crashes).toEqual([]);
  });

  it('names the refusal when Unleash is a host name with two addresses that both refuse (localhost on most machines)', async () => {
    // Node fails such a connection with an AggregateError whose message is empty, and the
    // client quotes that message as its reason: "…/client/features failed, reason: ".
    const restore = resolveTwoAddressHost();
    cleanups.push(async () => restore());
    const port = await freePort();
    const { logger, lines } = recordingLogger();
    const service = await FlagService.start(
      flagsConfig({ unleashUrl: `http://${TWO_ADDRESS_HOST}:${port}/api`, unleashToken: 'default:development.test', refreshIntervalMs: 200 }),
      logger,
      { root: ROOT, startTimeoutMs: 1_000 },
    );
    cleanups.push(() => service.stop());
    const failedFetch = (l: { msg: string }) => l.msg.includes('/api/client/features failed');
    await eventually('a fetch of the flags failed', () => lines.some(failedFetch), 10_000);
    for (const line of lines.filter(failedFetch)) expect(line.msg).toMatch(/failed, reason: ECONNREFUSED$/);
  });

  it('serves every flag off when there is no file either', async () => {
    const service = await FlagService.start(
      flagsConfig({ unleashUrl: 'http://127.0.0.1:9/api', bootstrapFile: 'config/no-such-flags.json' }),
      createLogger('silent'),
      { root: ROOT, startTimeoutMs: 300 },
    );
    cleanups.push(() => service.stop());
    expect(service.servingFrom).toBe('none');
    expect(service.evaluate(viewer()).isEnabled('floor.plus-rebate')).toBe(false);
    expect(service.explain('floor.plus-rebate', viewer()).reason).toBe('not-found');
  });

  it('does not crash when stop() runs while a poll is in flight and that poll then fails', async () => {
    // The first fetch answers; a later poll (run from the client's own timer, where nothing catches
    // a throw) is held open until after stop(), then fails. Without the guard in stop() that failure
    // is emitted on a repository with no listeners left and crashes the process.
    let fetches = 0;
    const heldPolls: ServerResponse[] = [];
    const { url } = await listen((req, res) => {
      if (!req.url?.startsWith('/api/client/features')) {
        res.statusCode = 202;
        res.end();
      } else if (++fetches === 1) {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(SERVED));
      } else heldPolls.push(res);
    });
    const service = await FlagService.start(flagsConfig({ unleashUrl: url, refreshIntervalMs: 200 }), createLogger('silent'), { root: ROOT });
    expect(service.servingFrom).toBe('unleash');
    await eventually('a later poll is in flight', () => heldPolls.length > 0, 5_000);

    await service.stop();
    for (const res of heldPolls) {
      res.statusCode = 400; // a non-2xx the client reports as an 'error' event
      res.end('{}');
    }
    await sleep(500);
    expect(crashes).toEqual([]);
  });

  it('switches from the file to Unleash once Unleash answers, sending the token', async () => {
    let answering = false;
    const authorizations = new Set<string>();
    const { url } = await listen((req, res) => {
      authorizations.add(String(req.headers.authorization));
      if (req.url?.startsWith('/api/client/features') && answering) {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(SERVED));
        return;
      }
      res.statusCode = req.url?.startsWith('/api/client/features') ? 503 : 202;
      res.end();
    });
    const service = await FlagService.start(
      flagsConfig({ unleashUrl: url, unleashToken: 'default:development.secret', refreshIntervalMs: 200 }),
      createLogger('silent'),
      { root: ROOT, startTimeoutMs: 500 },
    );
    cleanups.push(() => service.stop());
    expect(service.servingFrom).toBe('file');
    expect(service.evaluate(viewer()).isEnabled('floorplan.kill.promotion')).toBe(false);

    answering = true;
    await eventually('Unleash flags are served', () => service.servingFrom === 'unleash', 5_000);
    const flags = service.evaluate(viewer());
    expect(flags.isEnabled('floorplan.kill.promotion')).toBe(true);
    expect(flags.isEnabled('floor.plus-rebate')).toBe(false);
    expect(flags.isEnabled('floor.free-shipping-notice')).toBe(false); // Unleash does not define it
    expect(service.flagNames()).toEqual(['floor.plus-rebate', 'floorplan.kill.promotion']);
    expect([...authorizations]).toEqual(['default:development.secret']);
  });

  it('never logs the token, even when the Unleash client quotes it in its error (a header value it cannot send)', async () => {
    const { url } = await listen((_req, res) => {
      res.statusCode = 503;
      res.end();
    });
    const { logger, lines } = recordingLogger();
    // As loaded before UNLEASH_TOKEN was checked at start: a secret file's trailing newline, and one inside.
    for (const token of ['*:production.topsecret-4f1a\n', '*:production.top\nsecret-4f1a']) {
      const before = lines.length;
      const service = await FlagService.start(flagsConfig({ unleashUrl: url, unleashToken: token, refreshIntervalMs: 200 }), logger, { root: ROOT, startTimeoutMs: 1_000 });
      cleanups.push(() => service.stop());
      await eventually('the failure was logged', () => lines.slice(before).some((l) => l.level >= 50 && /not a legal HTTP header value/.test(l.msg)), 3_000);
      await service.stop();
    }
    const logged = JSON.stringify(lines);
    expect(logged).toContain('UNLEASH_TOKEN');
    expect(logged).not.toContain('topsecret');
    expect(logged).not.toContain('secret-4f1a');
  });

  it("never logs a password held in Unleash's URL, even one with an unencoded @", async () => {
    const { logger, lines } = recordingLogger();
    // Without /api, so the warning that names the URL at start is logged too.
    const service = await FlagService.start(flagsConfig({ unleashUrl: 'http://unleash:Unl3ash@pw@127.0.0.1:9/', refreshIntervalMs: 200 }), logger, { root: ROOT, startTimeoutMs: 500 });
    cleanups.push(() => service.stop());
    await eventually('a failed fetch was logged', () => lines.some((l) => l.msg.startsWith('flags: Unleash:')), 10_000);
    const logged = JSON.stringify(lines);
    expect(logged).toContain('http://unleash:***@127.0.0.1:9/');
    expect(logged).not.toContain('Unl3ash');
    expect(logged).not.toContain('pw@');
  });

  it('says the URL may be the cause, not only the token, when Unleash refuses a URL without /api', async () => {
    // Unleash's own UI answers 403 for /client/features outside its /api path, whatever the token.
    const { url } = await listen((req, res) => {
      res.statusCode = req.url?.startsWith('/api/') ? 200 : 403;
      res.end(req.url?.startsWith('/api/') ? JSON.stringify(SERVED) : '');
    });
    const root = url.replace(/\/api$/, '');
    const { logger, lines } = recordingLogger();
    const service = await FlagService.start(flagsConfig({ unleashUrl: root, unleashToken: 'default:development.secret', refreshIntervalMs: 200 }), logger, { root: ROOT, startTimeoutMs: 500 });
    cleanups.push(() => service.stop());
    const isRefusal = (l: { level: number; msg: string }) => l.level === 50 && l.msg.includes('refused the flags poll with 403');
    await eventually('the refusal is logged', () => lines.some(isRefusal), 5_000);
    const refusal = lines.find(isRefusal)!;
    expect(refusal.msg).toContain('check flags.unleashToken (UNLEASH_TOKEN)');
    expect(refusal.msg).toContain(`flags.unleashUrl (UNLEASH_URL) is ${root}, which does not end in /api`);
    // At start too, before any poll: the URL alone says so.
    expect(lines.some((l) => l.level === 40 && l.msg.includes('does not end in /api'))).toBe(true);
  });

  it('warns, naming the flag, when Unleash sends a strategy this client cannot evaluate or a dependency on a flag it lacks: such a flag is off for everyone', async () => {
    const served = {
      version: 2,
      features: [
        ...SERVED.features,
        { name: 'floor.loyalty-points', type: 'release', enabled: true, strategies: [{ name: 'qaCustom', parameters: {}, constraints: [] }], variants: [] },
        { name: 'floor.new-customer', type: 'release', enabled: true, strategies: [{ name: 'default', parameters: {}, constraints: [] }], variants: [], dependencies: [{ feature: 'floor.no-such-parent' }] },
      ],
    };
    const { service, lines } = await startServing(served);
    expect(service.servingFrom).toBe('unleash');
    expect(service.evaluate(viewer()).isEnabled('floor.loyalty-points')).toBe(false);
    const warnings = lines.filter((l) => l.level === 40 && l.msg.includes('cannot evaluate'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.msg).toContain('floor.loyalty-points: strategy "qaCustom" is unknown to unleash-client');
    expect(warnings[0]!.msg).toContain('floor.new-customer: depends on floor.no-such-parent, which Unleash does not define');
    // Polled again unchanged: not warned again.
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(lines.filter((l) => l.level === 40 && l.msg.includes('cannot evaluate'))).toHaveLength(1);
  });

  it('says a strategy this client cannot evaluate never matches, but does not call a flag off for everyone whose other strategies still turn it on', async () => {
    const served = {
      version: 2,
      features: [
        ...SERVED.features,
        {
          name: 'floor.loyalty-points',
          type: 'release',
          enabled: true,
          strategies: [
            { name: 'flexibleRollout', parameters: { rollout: '100', stickiness: 'userId', groupId: 'floor.loyalty-points' }, constraints: [{ contextName: 'userId', operator: 'IN', values: ['u1001'] }] },
            { name: 'qaCustom', parameters: {}, constraints: [] },
          ],
          variants: [],
        },
        { name: 'floor.new-customer', type: 'release', enabled: true, strategies: [{ name: 'qaCustom', parameters: {}, constraints: [] }], variants: [] },
      ],
    };
    const { service, lines } = await startServing(served);
    // The allow-listed user gets the flag: only the unknown strategy is skipped.
    expect(service.evaluate(viewer({ userId: 'u1001' })).isEnabled('floor.loyalty-points')).toBe(true);
    expect(service.evaluate(viewer({ userId: 'u1002' })).isEnabled('floor.loyalty-points')).toBe(false);
    expect(service.evaluate(viewer({ userId: 'u1001' })).isEnabled('floor.new-customer')).toBe(false);
    const warnings = lines.filter((l) => l.level === 40 && l.msg.includes('cannot evaluate'));
    expect(warnings).toHaveLength(1);
    const unknown = 'strategy "qaCustom" is unknown to unleash-client (it evaluates default, flexibleRollout, remoteAddress, applicationHostname, userWithId, gradualRolloutUserId, gradualRolloutSessionId, gradualRolloutRandom)';
    expect(warnings[0]!.problems).toEqual([
      `floor.loyalty-points: ${unknown}, so it never matches; the flag's other strategies still decide`,
      `floor.new-customer: ${unknown}, so it never matches, and the flag has no other: it is off for everyone`,
    ]);
    expect(warnings[0]!.msg).not.toContain('so they are off for everyone');
  });

  it('keeps asking Unleash after it refuses the token (401, 403), serving the last flags meanwhile, says so once and in a metric, and takes the changed flags once the token is accepted again', async () => {
    // unleash-client stops polling for good on a 401 or 403 ("Stopping refresh of toggles"): an
    // Unleash restart that briefly refused tokens, or a token re-created, left every replica on
    // its last flags until restarted. Here Unleash answers, refuses, then answers with the
    // promotion kill switch turned off.
    let answer: 'flags' | 401 | 403 | 'changed' = 'flags';
    const CHANGED = { ...SERVED, features: SERVED.features.map((f) => (f.name === 'floorplan.kill.promotion' ? { ...f, enabled: false } : f)) };
    const { url } = await listen((req, res) => {
      if (!req.url?.startsWith('/api/client/features')) {
        res.statusCode = 202;
        res.end();
      } else if (typeof answer === 'number') {
        res.statusCode = answer;
        res.end();
      } else {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(answer === 'flags' ? SERVED : CHANGED));
      }
    });
    const { logger, lines } = recordingLogger();
    const service = await FlagService.start(flagsConfig({ unleashUrl: url, unleashToken: 'default:development.secret', refreshIntervalMs: 200 }), logger, { root: ROOT });
    cleanups.push(() => service.stop());
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.watchFlags(service);
    const refusedGauge = async () => (await metrics.registry.metrics()).match(/^floorplan_flags_unleash_refused_status (\d+)$/m)?.[1];
    expect(service.evaluate(viewer()).isEnabled('floorplan.kill.promotion')).toBe(true);
    expect(await refusedGauge()).toBe('0');

    const refusals = () => lines.filter((l) => l.level === 50 && l.msg.includes('refused'));
    answer = 401;
    await eventually('the refusal is logged', () => refusals().length > 0, 5_000);
    expect(refusals()[0]!.msg).toContain(`flags: Unleash at ${url} refused the flags poll with 401`);
    expect(refusals()[0]!.msg).toContain('check flags.unleashToken (UNLEASH_TOKEN)');
    expect(await refusedGauge()).toBe('401');
    // Still refusing (with another status now), asked again meanwhile, still serving the last
    // flags Unleash sent, and said once.
    answer = 403;
    for (let deadline = Date.now() + 10_000; (await refusedGauge()) !== '403'; await sleep(50)) {
      if (Date.now() > deadline) throw new Error('the gauge did not say 403 within 10 s');
    }
    expect(service.servingFrom).toBe('unleash');
    expect(service.evaluate(viewer()).isEnabled('floorplan.kill.promotion')).toBe(true);
    expect(refusals()).toHaveLength(1);

    answer = 'changed';
    await eventually('the changed flag is served', () => !service.evaluate(viewer()).isEnabled('floorplan.kill.promotion'), 10_000);
    expect(service.servingFrom).toBe('unleash');
    expect(await refusedGauge()).toBe('0');
    expect(lines.some((l) => l.level === 30 && l.msg.startsWith(`flags: Unleash at ${url} accepts the token again`))).toBe(true);
    expect(JSON.stringify(lines)).not.toContain('development.secret');

    // A second outage is news again: logged once more.
    answer = 401;
    await eventually('the second refusal is logged', () => refusals().length === 2, 10_000);
    await sleep(500);
    expect(crashes).toEqual([]);
  });

  it('waits for Unleash at start when it answers, so the first request already sees its flags', async () => {
    const { url } = await listen((req, res) => {
      if (req.url?.startsWith('/api/client/features')) {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(SERVED));
      } else {
        res.statusCode = 202;
        res.end();
      }
    });
    const service = await FlagService.start(flagsConfig({ unleashUrl: url }), createLogger('silent'), { root: ROOT });
    cleanups.push(() => service.stop());
    expect(service.servingFrom).toBe('unleash');
    expect(service.evaluate(viewer()).isEnabled('floorplan.kill.promotion')).toBe(true);
  });
});

/** A FlagService polling a fake Unleash that always answers `served`, every 200 ms; its log lines recorded. */
async function startServing(served: unknown) {
  const { url } = await listen((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(served));
  });
  const { logger, lines } = recordingLogger();
  const service = await FlagService.start(flagsConfig({ unleashUrl: url, unleashToken: 'default:development.secret', refreshIntervalMs: 200 }), logger, { root: ROOT, startTimeoutMs: 2_000 });
  cleanups.push(() => service.stop());
  return { service, lines };
}

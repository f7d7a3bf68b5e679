/**
 * The production topology under load, through the failures it exists to survive: one topology
 * (HAProxy → 3 replicas from dist/ → Redis with Sentinel, Unleash on PostgreSQL; see
 * deploy/topology/topology.ts), the scenarios one after another, each under a steady load
 * through HAProxy that counts every answer.
 *
 * The figures (failover gap, drain times, publish and flag propagation) are printed as
 * "topology figure:" lines; README "Running in production" quotes a run of them.
 */
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { buildDist, REPO_ROOT, startTopology, UNLEASH_REFRESH_MS, type Topology, type TopologyPorts } from '../../deploy/topology/topology.ts';
import { missingBinaries } from '../../deploy/topology/prerequisites.ts';
import { deploymentMemoryLimit, HAS_MEMORY_CGROUP, kubernetesBytes } from '../../deploy/memory-cgroup.ts';
import { freePort } from '../support/processes.ts';
import { describeFailures, Load, LOAD_QUERY, summarize, type Answer, type LoadUser } from './support/load.ts';

const MISSING = missingBinaries();
const SCENE_FILE = 'cart-bottom-sheet.yaml';
const REBATE_FLAG = 'floor.plus-rebate';
/** The issue's bounds. */
const RECOVERY_BOUND_MS = 10_000;
const PUBLISH_BOUND_MS = 2_000;
const FLAG_BOUND_MS = UNLEASH_REFRESH_MS + 1_000;
const UNLEASH_OUTAGE_MS = 60_000;

const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));
const figures: string[] = [];
function figure(line: string): void {
  figures.push(line);
  console.log(`topology figure: ${line}`);
}

async function topologyPorts(): Promise<TopologyPorts> {
  const take = () => freePort();
  return {
    haproxy: await take(),
    haproxyStats: await take(),
    jwks: await take(),
    replicas: [await take(), await take(), await take()],
    demo: await take(),
    redis: [await take(), await take()],
    sentinels: [await take(), await take(), await take()],
    unleash: await take(),
  };
}

async function poll(what: string, timeoutMs: number, check: () => Promise<boolean>, everyMs = 50, lastReason?: () => string | undefined): Promise<number> {
  const startedAt = performance.now();
  for (;;) {
    if (await check().catch(() => false)) return performance.now() - startedAt;
    if (performance.now() - startedAt > timeoutMs) {
      const reason = lastReason?.();
      throw new Error(`${what} within ${timeoutMs} ms${reason === undefined ? '' : ` (last check: ${reason})`}`);
    }
    await sleep(everyMs);
  }
}

interface Panel {
  layoutVersion: string;
  degraded: boolean;
  codes: string[];
}

async function askPanel(url: string, token: string, body: Record<string, unknown> = { query: LOAD_QUERY }): Promise<Panel> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(5000),
  });
  const json = (await response.json()) as { data?: { floorPanel: { layoutVersion: string; degraded: boolean; floors: Array<{ code: string }> } }; errors?: unknown[] };
  if (response.status !== 200 || json.data?.floorPanel === undefined) throw new Error(`HTTP ${response.status}: ${JSON.stringify(json).slice(0, 300)}`);
  const panel = json.data.floorPanel;
  return { layoutVersion: panel.layoutVersion, degraded: panel.degraded, codes: panel.floors.map((f) => f.code) };
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(2000) })).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  if (line === undefined) throw new Error(`${url}/metrics has no ${name}`);
  return Number(line.slice(name.length + 1));
}

/** A replica's Redis breakers as its /metrics shows them, e.g. "promotion closed, rate-limit open". */
async function redisBreakers(url: string): Promise<string> {
  let text: string;
  try {
    text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(2000) })).text();
  } catch (error) {
    return `no metrics: ${String(error)}`;
  }
  const states = [...text.matchAll(/^floorplan_redis_breaker_open\{name="([^"]+)"\} (\S+)$/gm)].map(([, name, value]) => `${name} ${value === '1' ? 'open' : value === '0' ? 'closed' : 'half-open'}`);
  return states.length > 0 ? `breakers: ${states.join(', ')}` : 'no breaker metrics';
}

describe.skipIf(MISSING.length > 0)(`the production topology under load${MISSING.length > 0 ? ` (missing: ${MISSING.join(', ')})` : ''}`, () => {
  let topology: Topology;
  let users: LoadUser[];
  let work: string;
  let probeSeq = 0;

  beforeAll(async () => {
    buildDist();
    work = mkdtempSync(join(tmpdir(), 'floorplan-topology-'));
    topology = await startTopology({ ports: await topologyPorts(), dir: work });
    users = await Promise.all(
      Array.from({ length: 12 }, async (_, i) => {
        const plus = i % 2 === 0;
        const id = plus ? `plus-topology-${i}` : `topology-${i}`;
        return { id, token: await topology.token(id, plus ? ['plus'] : []) };
      }),
    );
  });

  /**
   * When a test fails, its processes' logs say why better than its assertion can: each log's
   * warnings and errors (Floorplan logs JSON; level 40 and up) or, for Redis and Sentinel, its
   * last lines are printed, and the whole folder is kept in .e2e/topology-logs/ (git-ignored).
   */
  function keepLogsOnFailure(): void {
    onTestFailed(() => {
      const logs = join(work, 'logs');
      if (!existsSync(logs)) return;
      const kept = join(REPO_ROOT, '.e2e', 'topology-logs');
      rmSync(kept, { recursive: true, force: true });
      cpSync(logs, kept, { recursive: true });
      for (const file of readdirSync(logs).sort()) {
        const lines = readFileSync(join(logs, file), 'utf8').split('\n').filter((line) => line !== '');
        const telling = file.startsWith('floorplan') ? lines.filter((line) => /"level":(4|5|6)\d/.test(line)) : lines;
        console.log(`--- ${file} (${telling.length} of ${lines.length} lines shown, last 15)\n${telling.slice(-15).join('\n')}`);
      }
      console.log(`(all logs kept in ${kept})`);
    });
  }

  afterAll(async () => {
    await topology?.stop();
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
    if (figures.length > 0) console.log(`topology figures:\n  ${figures.join('\n  ')}`);
  });

  /** Publishes the floors files in `dir` as an operator does: POST /admin/layouts/publish through HAProxy. */
  async function publish(dir: string, message: string): Promise<number> {
    const files = Object.fromEntries(readdirSync(dir).filter((name) => name.endsWith('.yaml')).map((name) => [name, readFileSync(join(dir, name), 'utf8')]));
    return topology.publishLayouts(files, message);
  }

  /**
   * Whether every Redis-backed feature works right now, each observed from outside: the
   * promotion cache and the rate limit wrote a fresh user's keys on the primary; a persisted
   * query registered on one replica is answered by hash on the others; a publish reaches all.
   */
  let lastProbeFailure: string | undefined;
  /** Records why the probe failed this time (a poll that gives up says the last one). */
  function notYet(why: string): false {
    lastProbeFailure = why;
    return false;
  }

  async function redisFeaturesWork(): Promise<boolean> {
    const n = ++probeSeq;
    const token = await topology.token(`probe-${n}`);
    const primary = await topology.redis.connectPrimary();
    try {
      for (const replica of topology.replicas) {
        const user = `probe-${n}-${replica.name}`;
        await askPanel(replica.url, await topology.token(user));
        const cached = (await primary.keys(`floorplan:promotion:v1:${user}:*`)).length > 0;
        const limited = (await primary.exists(`floorplan:rate:${user}`)) === 1;
        if (!cached || !limited) {
          return notYet(`${replica.name}: ${cached ? '' : 'no promotion cache key '}${limited ? '' : 'no rate-limit key '}(${await redisBreakers(replica.url)})`);
        }
      }

      const query = `${LOAD_QUERY} # probe ${n}`;
      const sha256Hash = createHash('sha256').update(query).digest('hex');
      const [first, ...others] = topology.replicas;
      await askPanel(first!.url, token, { query, extensions: { persistedQuery: { version: 1, sha256Hash } } });
      for (const replica of others) await askPanel(replica.url, token, { extensions: { persistedQuery: { version: 1, sha256Hash } } });

      const revision = await publish(join(REPO_ROOT, 'floors'), `probe ${n}`);
      await poll('every replica must serve the published revision', 3000, async () => {
        const revisions = await Promise.all(topology.replicas.map((r) => metric(r.url, 'floorplan_layout_revision')));
        return revisions.every((r) => r >= revision);
      });
      lastProbeFailure = undefined;
      return true;
    } catch (error) {
      return notYet(error instanceof Error ? error.message : String(error));
    } finally {
      primary.disconnect();
    }
  }

  it('fails Redis over to the replica with no failed or degraded answer, and its users work again within 10 s', async () => {
    keepLogsOnFailure();
    await poll('caches, APQ, rate limits and layout push must work before Redis is broken', 30_000, redisFeaturesWork, 250, () => lastProbeFailure);
    const load = new Load({ url: topology.url, users, maxMs: 60_000 }).start();
    await sleep(2000);
    const before = await topology.redis.primaryPort();
    const killedAt = performance.now();
    await topology.redis.killPrimary();
    await poll('the Sentinels must name a new primary', 30_000, async () => (await topology.redis.primaryPort()) !== before, 100);
    const failedOverAt = performance.now();
    const recoveryMs = await poll('caches, APQ, rate limits and layout push must work again', 20_000, redisFeaturesWork, 250, () => lastProbeFailure);
    await sleep(2000);
    const answers = await load.stop();
    const counts = summarize(answers);
    figure(`redis failover: primary killed → Sentinel named the replica after ${Math.round(failedOverAt - killedAt)} ms; caches, APQ, rate limits and layout push working again ${Math.round(recoveryMs)} ms after that; ${counts.total} answers, ${counts.failed} failed, ${counts.degraded} degraded`);
    expect(counts.failed + counts.degraded, describeFailures(answers)).toBe(0);
    expect(recoveryMs).toBeLessThanOrEqual(RECOVERY_BOUND_MS);
    // The old primary comes back as a replica, so the topology can fail over again.
    await topology.redis.restart(before);
  });

  it('restarts the 3 replicas one at a time (SIGTERM, drain, start) with no failed answer', async () => {
    const load = new Load({ url: topology.url, users, maxMs: 120_000 }).start();
    await sleep(1000);
    const drains: string[] = [];
    for (const replica of topology.replicas) {
      const signalledAt = performance.now();
      let downAt: number | undefined;
      const watching = (async () => {
        while (downAt === undefined && performance.now() - signalledAt < 30_000) {
          const state = (await topology.haproxyStates())[replica.name];
          if (state !== undefined && !state.startsWith('UP')) downAt = performance.now();
          else await sleep(50);
        }
      })();
      const stopped = await replica.stop();
      await watching;
      expect(stopped.exitCode).toBe(0);
      const lastAnswer = Math.max(0, ...load.answers.filter((a) => a.replica === replica.name).map((a) => a.at));
      await replica.start();
      const upMs = await poll(`HAProxy must see ${replica.name} UP again`, 20_000, async () => (await topology.haproxyStates())[replica.name] === 'UP');
      drains.push(
        `${replica.name}: HAProxy marked it down ${Math.round((downAt ?? NaN) - signalledAt)} ms after SIGTERM, last answer ${Math.round(lastAnswer - signalledAt)} ms, exited ${stopped.stopMs} ms; UP again ${Math.round(upMs)} ms after ready`,
      );
      await sleep(500);
    }
    const answers = await load.stop();
    const counts = summarize(answers);
    figure(`rolling restart: ${counts.total} answers, ${counts.failed} failed; ${drains.join('; ')}`);
    expect(counts.failed, describeFailures(answers)).toBe(0);
    // Every replica answered before and after its restart.
    expect(Object.keys(counts.perReplica).sort()).toEqual(topology.replicas.map((r) => r.name).sort());
  });

  it('serves a layout published mid-load on every replica within 2 s of the publish returning', async () => {
    const oldVersion = (await askPanel(topology.url, users[0]!.token)).layoutVersion;
    const newVersion = `${oldVersion}-topology`;
    const dir = mkdtempSync(join(tmpdir(), 'floorplan-topology-floors-'));
    try {
      cpSync(join(REPO_ROOT, 'floors'), dir, { recursive: true });
      const file = join(dir, SCENE_FILE);
      const source = readFileSync(file, 'utf8');
      expect(source).toContain(`version: "${oldVersion}"`);
      writeFileSync(file, source.replace(`version: "${oldVersion}"`, `version: "${newVersion}"`));

      const load = new Load({ url: topology.url, users, maxMs: 30_000 }).start();
      await sleep(2000);
      await publish(dir, `layout version ${newVersion}`);
      const returnedAt = performance.now();
      // Asked directly, each replica's first answer with the new layout: the propagation figure.
      const reached = await Promise.all(
        topology.replicas.map((r) =>
          poll(`${r.name} must serve ${newVersion}`, 10_000, async () => (await askPanel(r.url, users[1]!.token)).layoutVersion === newVersion, 20).then(
            () => performance.now() - returnedAt,
          ),
        ),
      );
      await sleep(Math.max(0, returnedAt + PUBLISH_BOUND_MS + 2000 - performance.now()));
      const answers = await load.stop();

      const late = answers.filter((a) => a.sentAt > returnedAt + PUBLISH_BOUND_MS && a.layoutVersion !== newVersion);
      const perReplica = topology.replicas.map((r) => {
        const old = answers.filter((a) => a.replica === r.name && a.layoutVersion === oldVersion && a.sentAt >= returnedAt);
        const lastOld = Math.max(0, ...old.map((a) => a.sentAt - returnedAt));
        const after = answers.filter((a) => a.replica === r.name && a.sentAt > returnedAt + PUBLISH_BOUND_MS).length;
        return { name: r.name, lastOld, after };
      });
      const counts = summarize(answers);
      figure(
        `layout publish: ${counts.total} answers, ${counts.failed} failed; new layout served ${reached.map((ms, i) => `by ${topology.replicas[i]!.name} ${Math.round(ms)} ms`).join(', ')} after the publish returned; last old-layout answer through HAProxy sent ${perReplica.map((r) => `${r.name} ${Math.round(r.lastOld)} ms`).join(', ')} after it; answers with the old layout later than 2 s: ${late.length}`,
      );
      expect(late.map((a) => `${a.replica} ${a.layoutVersion ?? a.problem ?? ''}`)).toEqual([]);
      for (const r of perReplica) expect(r.after, `${r.name} answered after the 2 s mark`).toBeGreaterThan(0);
      for (const replica of topology.replicas) expect((await askPanel(replica.url, users[0]!.token)).layoutVersion).toBe(newVersion);
      expect(counts.failed, describeFailures(answers)).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps the last flags through a 60 s Unleash outage with no failed answer, and a change after it reaches every replica within refresh + 1 s', async () => {
    const plus = users[0]!;
    const baseline = new Map<string, string>();
    for (const user of users) baseline.set(user.id, (await askPanel(topology.url, user.token)).codes.join(','));
    expect(baseline.get(plus.id)).toContain('plus-rebate');

    const load = new Load({ url: topology.url, users, maxMs: UNLEASH_OUTAGE_MS + 60_000 }).start();
    await sleep(1000);
    await topology.unleash.stop();
    await sleep(UNLEASH_OUTAGE_MS);
    await topology.unleash.restart();
    // Every replica has fetched from the restarted Unleash (its flags are current again).
    const resyncMs = await poll('every replica must fetch flags from the restarted Unleash', 30_000, async () => {
      const ages = await Promise.all(topology.replicas.map((r) => metric(r.url, 'floorplan_flags_fetch_age_seconds')));
      return ages.every((age) => age * 1000 <= UNLEASH_REFRESH_MS + 200);
    });
    // Timed from when Unleash has taken the change, as the end-to-end suite times a toggle.
    const askedAt = performance.now();
    await topology.unleash.admin.disable(REBATE_FLAG);
    const changedAt = performance.now();
    const propagation = await Promise.all(
      topology.replicas.map((r) =>
        poll(`${r.name} must stop showing plus-rebate`, 10_000, async () => !(await askPanel(r.url, plus.token)).codes.includes('plus-rebate'), 25).then(() => performance.now() - changedAt),
      ),
    );
    const answers = await load.stop();
    await topology.unleash.admin.enable(REBATE_FLAG);

    const counts = summarize(answers);
    const changedDuringOutage = answers.filter((a: Answer) => a.ok && a.sentAt < changedAt && a.codes.join(',') !== baseline.get(a.user));
    figure(
      `unleash outage: ${UNLEASH_OUTAGE_MS / 1000} s down; ${counts.total} answers, ${counts.failed} failed, ${changedDuringOutage.length} with other flags than before; replicas re-fetched ${Math.round(resyncMs)} ms after the restart; a toggle (the admin API took ${Math.round(changedAt - askedAt)} ms) then reached ${propagation.map((ms, i) => `${topology.replicas[i]!.name} in ${Math.round(ms)} ms`).join(', ')} (bound ${FLAG_BOUND_MS} ms)`,
    );
    expect(counts.failed, describeFailures(answers)).toBe(0);
    expect(changedDuringOutage.map((a) => `${a.user}: ${a.codes.join(',')}`)).toEqual([]);
    expect(Math.max(...propagation)).toBeLessThanOrEqual(FLAG_BOUND_MS);
  });

  // Last, so that the replicas the rolling restart started again are checked too.
  it.skipIf(!HAS_MEMORY_CGROUP)('runs every replica, restarted ones too, in a memory cgroup of the base Deployment’s limits.memory, as in its pod', () => {
    const limit = deploymentMemoryLimit(REPO_ROOT);
    expect(topology.memoryLimit).toBe(limit);
    const limits = topology.replicas.map((replica) => {
      const pid = replica.process?.child.pid;
      // cgroup v1: "N:memory:/floorplan-…"; v2: "0::/floorplan-…".
      const lines = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n');
      const v1 = lines.find((line) => line.split(':')[1]?.split(',').includes('memory'));
      const path = v1 === undefined ? `/sys/fs/cgroup${lines.find((line) => line.startsWith('0::'))!.slice(3)}` : `/sys/fs/cgroup/memory${v1.split(':')[2]}`;
      return Number(readFileSync(join(path, v1 === undefined ? 'memory.max' : 'memory.limit_in_bytes'), 'utf8').trim());
    });
    expect(limits).toEqual(topology.replicas.map(() => kubernetesBytes(limit)));
  });
});

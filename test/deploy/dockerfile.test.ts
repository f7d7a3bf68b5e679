/**
 * The Dockerfile, proven without Docker (these machines cannot pull base images): the build
 * context .dockerignore lets through is copied to a temporary folder, the Dockerfile's own
 * WORKDIR/COPY/ENV/RUN steps run there (npm ci, npm run build, npm ci --omit=dev), and what its
 * CMD names is started from the image's working directory, as the image's user when the tests
 * run as root.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { CONFIG_ENV_VARS, loadServiceConfig } from '../../src/config/service-config.ts';
import { startDemoUpstreams, type DemoUpstreams } from '../../src/demo-upstreams/server.ts';
import { UPSTREAMS } from '../../src/upstreams/registry.ts';
import { signDemoToken } from '../../src/viewer/demo-token.ts';
import { copyBuildContext, runDockerfile, type DockerBuild } from '../support/dockerfile-steps.ts';
import { PANEL_QUERY, type PanelResult } from '../support/harness.ts';
import { createTestDatabase, HAS_POSTGRES, type TestDatabase } from '../support/postgres.ts';
import { productionNodeFlags } from '../../deploy/build-dist.ts';
import { createMemoryCgroup, deploymentMemoryLimit, HAS_MEMORY_CGROUP, kubernetesBytes, type MemoryCgroup } from '../../deploy/memory-cgroup.ts';
import { freePort } from '../support/processes.ts';
import { startOtlpReceiver } from '../support/otlp-receiver.ts';
import { until } from '../support/until.ts';

const REPO = join(import.meta.dirname, '..', '..');
const NODE_BIN = dirname(process.execPath);
/** The upstream URL variables production requires (config/production.yaml leaves them empty). */
const UPSTREAM_URL_VARS = UPSTREAMS.map((u) => [u, `UPSTREAM_${u.toUpperCase()}_URL`] as const);
/** The first panel of a cold process on a busy machine can outlast the 250 ms default budget. */
const GENEROUS_DEADLINE = { REQUEST_DEADLINE_MS: '2000' };
/** What Floorplan logs when it cannot keep a last-known-good layouts copy where it is told to. */
const NO_LAST_GOOD_COPY = 'cannot create the folder of the last-known-good layouts copy';

/**
 * What a RUN step starts from: this machine's environment without what the test runner adds
 * (vitest's NODE_ENV=test, npm's npm_* from `npm test`), with the Node running the tests first
 * on PATH in place of the base image's.
 */
function buildEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (name === 'NODE_ENV' || name.startsWith('VITEST') || name.toLowerCase().startsWith('npm_')) continue;
    env[name] = value;
  }
  // The host's npm cache stands for the Dockerfile's cache mount; it need not ask the registry again.
  return { ...env, PATH: `${NODE_BIN}${delimiter}${env.PATH ?? ''}`, npm_config_prefer_offline: 'true', npm_config_update_notifier: 'false' };
}

interface Started {
  readonly url: string;
  readonly child: ChildProcess;
  output(): string;
  stop(): Promise<number | null>;
}

/**
 * Starts the image's CMD in its WORKDIR with its ENV plus `env`, as its USER when we may;
 * resolves once /readyz says 200. In `cgroup`, it runs as root: joining a cgroup takes root.
 */
async function startImage(build: DockerBuild, env: Record<string, string>, cgroup?: MemoryCgroup): Promise<Started> {
  const image = build.image;
  const [command, ...args] = cgroup === undefined ? image.cmd! : cgroup.wrap(image.cmd![0]!, image.cmd!.slice(1)).flat();
  const [uid, gid] = (image.user ?? '').split(':').map(Number);
  const asImageUser = process.getuid?.() === 0 && Number.isInteger(uid) && cgroup === undefined ? { uid: uid!, gid: gid ?? uid! } : {};
  const child = spawn(command!, args, {
    cwd: build.hostPath(image, '.'),
    // A container's environment: its PATH and the image's ENV, nothing of this machine's.
    env: { PATH: `${NODE_BIN}${delimiter}/usr/bin${delimiter}/bin`, HOME: '/tmp', ...build.hostEnv(image), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...asImageUser,
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const url = `http://127.0.0.1:${env.PORT}`;
  const started: Started = {
    url,
    child,
    output: () => output,
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      const exited = once(child, 'exit') as Promise<[number | null]>;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const [code] = await exited;
      clearTimeout(timer);
      return code;
    },
  };
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && child.exitCode === null) {
    if (await fetch(`${url}/readyz`).then((r) => r.ok, () => false)) return started;
    await new Promise((r) => setTimeout(r, 100));
  }
  if (child.exitCode === null) child.kill('SIGKILL');
  throw new Error(`the image's CMD did not become ready (exit code ${String(child.exitCode)}):\n${output}`);
}

/** Whether this host's transparent huge pages are on (`always` or `madvise`), as Node's `--use-largepages` needs. */
function transparentHugePagesOn(): boolean {
  const setting = '/sys/kernel/mm/transparent_hugepage/enabled';
  return existsSync(setting) && !readFileSync(setting, 'utf8').includes('[never]');
}

/** A process's anonymous memory on huge pages, in MB (/proc/<pid>/smaps_rollup). */
function anonHugePagesMb(pid: number): number {
  const kb = /^AnonHugePages:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1];
  return Number(kb) / 1024;
}

/** Each manifest's container memory limit: the base Deployment's, and each overlay's that patches it. */
function manifestMemoryLimits(): Array<[string, string]> {
  const limits: Array<[string, string]> = [['base', deploymentMemoryLimit(REPO)]];
  const overlays = join(REPO, 'deploy/kubernetes/overlays');
  for (const overlay of readdirSync(overlays)) {
    const kustomization = parseYaml(readFileSync(join(overlays, overlay, 'kustomization.yaml'), 'utf8')) as any;
    for (const { target, patch } of kustomization.patches ?? []) {
      if (target?.kind !== 'Deployment') continue;
      const resources = (parseYaml(patch) as any[]).find((op) => op.path === '/spec/template/spec/containers/0/resources');
      if (resources?.value?.limits?.memory !== undefined) limits.push([overlay, resources.value.limits.memory]);
    }
  }
  return limits;
}

/** One panel request's status, and how long its Retry-After asks a client to wait (ms; 100 without one). */
async function panelOnce(url: string, token: string): Promise<{ status: number; retryAfterMs: number }> {
  const res = await postPanel(url, token);
  await res.arrayBuffer();
  const retryAfter = Number(res.headers.get('retry-after'));
  return { status: res.status, retryAfterMs: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : 100 };
}

/** The cart-bottom-sheet panel, asked for with `token`. */
function postPanel(url: string, token: string): Promise<Response> {
  return fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: PANEL_QUERY, variables: { scene: 'cart-bottom-sheet' } }),
  });
}

async function panel(url: string, token: string): Promise<{ status: number; body: { data?: PanelResult | null; errors?: unknown[] } }> {
  const res = await postPanel(url, token);
  return { status: res.status, body: (await res.json()) as { data?: PanelResult | null; errors?: unknown[] } };
}

describe('the Dockerfile, its steps run without Docker', () => {
  let work: string;
  let context: string[];
  let build: DockerBuild;
  let buildOutput = '';

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'floorplan-docker-'));
    chmodSync(work, 0o755); // the image's user must reach its files
    context = copyBuildContext(REPO, join(work, 'context'));
    build = await runDockerfile({
      dockerfile: join(REPO, 'Dockerfile'),
      context: join(work, 'context'),
      workRoot: join(work, 'stages'),
      env: buildEnv(),
      onOutput: (text) => (buildOutput += text),
    });
  }, 600_000);

  afterAll(() => {
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  });

  it('sends the builder only what the image needs: no tests, benchmarks, node_modules or git', () => {
    expect(context).toContain('package-lock.json');
    expect(context).toContain('src/main.ts');
    expect(context).toContain('floors/cart-bottom-sheet.yaml');
    const leaked = context.filter((f) => /^(test|bench|node_modules|dist|deploy|\.git|\.ci)\//.test(f) || f.endsWith('.md'));
    expect(leaked).toEqual([]);
  });

  it('installs every dependency and builds, then installs only production dependencies in the image', () => {
    expect(build.runs).toEqual(expect.arrayContaining([expect.stringMatching(/^npm ci\b(?!.*--omit=dev)/), 'npm run build', expect.stringMatching(/^npm ci .*--omit=dev/)]));
    const lock = JSON.parse(readFileSync(join(REPO, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean; optional?: boolean; devOptional?: boolean; peer?: boolean }> };
    const installed = (path: string) => existsSync(build.hostPath(build.image, path));
    const entries = Object.entries(lock.packages).filter(([path]) => path.startsWith('node_modules/'));
    const devPresent = entries.filter(([path, entry]) => entry.dev === true && installed(path)).map(([path]) => path);
    const prodMissing = entries
      .filter(([path, entry]) => !entry.dev && !entry.optional && !entry.devOptional && !entry.peer && !installed(path))
      .map(([path]) => path);
    expect(devPresent).toEqual([]);
    expect(prodMissing).toEqual([]);
    expect(entries.filter(([, e]) => e.dev === true).length).toBeGreaterThan(50);
    expect(installed('dist/server/main.js')).toBe(true);
    expect(installed('dist/src')).toBe(false);
    expect(installed('src')).toBe(false);
  });

  it('runs node dist/server/main.js as npm run start:prod does, as a non-root user, on the Node the project is tested on, with production config', () => {
    const image = build.image;
    expect(image.cmd).toEqual(['node', ...productionNodeFlags(REPO), 'dist/server/main.js']);
    const user = image.user ?? 'root';
    expect(user.split(':')[0]).not.toMatch(/^(root|0)$/);
    expect(image.env).toMatchObject({ NODE_ENV: 'production', FLOORPLAN_ENV: 'production' });

    const testedOn = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> }).devDependencies.node;
    for (const stage of build.stages) expect(stage.image).toMatch(new RegExp(`^node:${testedOn!.replaceAll('.', '\\.')}-`));
    expect(process.version).toBe(`v${testedOn}`);

    // What production requires from its environment: the upstreams, the layout revision store and the identity provider's keys.
    const upstreamUrls = {
      ...Object.fromEntries(UPSTREAM_URL_VARS.map(([u, name]) => [name, `http://${u}.internal/${u}`])),
      LAYOUT_STORE_URL: 'postgres://floorplan@postgres.internal:5432/floorplan_layouts',
      JWT_JWKS_URL: 'https://idp.internal/.well-known/jwks.json',
    };
    for (const name of Object.keys(upstreamUrls)) expect(CONFIG_ENV_VARS).toContain(name);
    const config = loadServiceConfig({ dir: build.hostPath(image, 'config'), env: { ...image.env, ...upstreamUrls } });
    expect(image.exposed).toEqual([config.server.port]);
    expect(config.demo.enabled).toBe(false);
  });

  it('keeps its last-known-good layouts copy on a volume it declares, which its user owns: a plain docker run has one, where Kubernetes mounts its own', () => {
    const image = build.image;
    const file = image.env.LAYOUT_LAST_GOOD_FILE;
    // The config's default (.floorplan/ under the working directory) is in /app, which the image's user cannot write.
    expect(file, 'LAYOUT_LAST_GOOD_FILE in the image').toMatch(/^\//);
    const volume = image.volumes.find((path) => file!.startsWith(`${path}/`));
    expect(volume, `no VOLUME holds ${file!}`).toBeDefined();
    // Docker starts a new volume from the image's folder there, owner included.
    const [uid] = (image.user ?? '').split(':').map(Number);
    if (process.getuid?.() === 0) expect(statSync(build.hostPath(image, volume!)).uid).toBe(uid);
    const manifests = parseYaml(readFileSync(join(REPO, 'deploy/kubernetes/base/kustomization.yaml'), 'utf8')) as { configMapGenerator: Array<{ literals?: string[] }> };
    expect(manifests.configMapGenerator.flatMap((map) => map.literals ?? [])).toContain(`LAYOUT_LAST_GOOD_FILE=${file!}`);
  });

  it('started as the image starts it, on the demo defaults, serves /healthz and a panel', async () => {
    const [port, demoPort] = [await freePort(), await freePort()];
    // FLOORPLAN_ENV emptied: the embedded defaults of `npm start`, in-process demo upstreams included.
    const app = await startImage(build, { FLOORPLAN_ENV: '', PORT: String(port), DEMO_PORT: String(demoPort), ...GENEROUS_DEADLINE }).catch((error: Error) => {
      throw new Error(`${error.message}\nbuild output (end):\n${buildOutput.slice(-3000)}`);
    });
    try {
      const health = await fetch(`${app.url}/healthz`);
      expect(health.status).toBe(200);
      expect(app.output()).not.toContain(NO_LAST_GOOD_COPY);
      const token = await signDemoToken(loadServiceConfig({ env: {} }).auth, { userId: 'u1001' });
      const res = await panel(app.url, token);
      expect(res.status).toBe(200);
      expect(res.body.data?.floorPanel.failedUpstreams).toEqual([]);
      expect(res.body.data?.floorPanel.degraded).toBe(false);
      expect(res.body.data?.floorPanel.floors[0]).toMatchObject({ code: 'spze', priceText: '¥20.90' });
      // --use-largepages=on: Node's own code (~40 MB) copied onto 2 MB pages, where the host's
      // transparent huge pages allow it; where they do not, Node says so once and runs as before.
      if (transparentHugePagesOn()) expect(anonHugePagesMb(app.child.pid!)).toBeGreaterThanOrEqual(16);
      else expect(app.output()).toContain('Large pages are not enabled.');
    } finally {
      expect(await app.stop()).toBe(0);
    }
  });

  // esbuild leaves CommonJS's __dirname and __filename as they are in the packages it bundles, and
  // in an ES module they do not exist: ioredis's friendly error stacks would throw a
  // ReferenceError inside a command's reject, leaving the command unsettled.
  it('leaves no CommonJS-only __dirname or __filename in the bundle, where an ES module would throw on them', () => {
    const dir = build.hostPath(build.image, 'dist/server');
    const found = readdirSync(dir)
      .filter((file) => file.endsWith('.js'))
      .flatMap((file) => [...readFileSync(join(dir, file), 'utf8').matchAll(/.{0,60}\b__(?:dirname|filename)\b.{0,20}/g)].map((m) => `${file}: ${m[0]}`));
    expect(found).toEqual([]);
  });

  // The bundle (dist/server/) is one module graph where src/ had a file per module: what a module
  // found beside its own file (the console's page, the store's SQL migrations) is copied beside the
  // bundle, and what is imported only when used (the revision store, tracing) is a chunk of its own.
  it('started as the image starts it, finds what the bundle reads beside itself: the console, the migrations of a publish, the tracing chunk', async () => {
    const [port, demoPort] = [await freePort(), await freePort()];
    const storeDir = mkdtempSync(join(tmpdir(), 'floorplan-image-store-'));
    chmodSync(storeDir, 0o777); // the image's user (uid 1000) keeps the embedded store there
    const receiver = await startOtlpReceiver();
    const admin = 'image-suite-admin-token';
    const app = await startImage(build, {
      FLOORPLAN_ENV: '',
      PORT: String(port),
      DEMO_PORT: String(demoPort),
      ADMIN_TOKEN: admin,
      LAYOUT_STORE_DIR: storeDir,
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: receiver.tracesUrl,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_TRACES_SAMPLER: 'always_on',
      OTEL_BSP_SCHEDULE_DELAY: '100',
      ...GENEROUS_DEADLINE,
    });
    try {
      const page = await fetch(`${app.url}/console`);
      expect(page.status).toBe(200);
      expect(await page.text()).toBe(readFileSync(join(REPO, 'src', 'console', 'assets', 'index.html'), 'utf8'));

      const cart = readFileSync(join(REPO, 'floors', 'cart-bottom-sheet.yaml'), 'utf8').replace(/version: "[^"]+"/, 'version: "image-1"');
      const checkout = readFileSync(join(REPO, 'floors', 'checkout-summary.yaml'), 'utf8');
      const published = await fetch(`${app.url}/admin/layouts/publish`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` },
        body: JSON.stringify({ files: { 'cart-bottom-sheet.yaml': cart, 'checkout-summary.yaml': checkout }, message: 'from the image test' }),
      });
      expect(published.status, await published.clone().text()).toBe(200);
      const token = await signDemoToken(loadServiceConfig({ env: {} }).auth, { userId: 'u1001' });
      const res = await panel(app.url, token);
      expect(res.status).toBe(200);
      expect(res.body.data?.floorPanel.layoutVersion).toBe('image-1');
      // The revision it swapped in, copied to the image's own volume: what a restart with the store and Redis down would serve.
      const copy = build.hostPath(build.image, build.image.env.LAYOUT_LAST_GOOD_FILE!);
      await until(() => existsSync(copy) && readFileSync(copy, 'utf8').includes('image-1'), 'the last-known-good copy holds the published revision', 10_000);
      expect(app.output()).not.toContain(NO_LAST_GOOD_COPY);
      await until(() => receiver.spans().some((span) => span.name === 'render cart-bottom-sheet'), 'the panel\'s trace at the OTLP receiver', 10_000);
    } finally {
      expect(await app.stop()).toBe(0);
      await receiver.close();
      rmSync(storeDir, { recursive: true, force: true });
      // Each docker run starts with a volume of its own: the next start here must not find this one's copy.
      const file = build.image.env.LAYOUT_LAST_GOOD_FILE ?? '';
      const volume = build.image.volumes.find((path) => file.startsWith(`${path}/`));
      if (volume !== undefined) {
        const folder = build.hostPath(build.image, volume);
        for (const entry of readdirSync(folder)) rmSync(join(folder, entry), { recursive: true, force: true });
      }
    }
  });

  // A pod's memory limit is a memory cgroup, and Node sizes its heap from it: alone, Node 24 picks
  // a 2 MB young generation under 512Mi (a scavenge every six panels, 3× the CPU per panel at 200
  // connections) and 32 MB under 768Mi (1.35×) (BENCHMARKS.md, "Under a container's memory
  // limit"). The CMD's --max-semi-space-size=64 and its equal minimum keep two 64 MB semi-spaces,
  // as on a large machine: 128 MB of new space whatever the limit.
  describe.skipIf(!HAS_MEMORY_CGROUP)('under the memory limits the Kubernetes manifests set (a memory cgroup of that size)', () => {
    for (const [variant, limit] of manifestMemoryLimits()) {
      it(`keeps the CMD's young generation (two 64 MB semi-spaces) at ${variant}'s limits.memory ${limit}, where Node alone sizes it to the limit`, async () => {
        const cgroup = createMemoryCgroup(kubernetesBytes(limit));
        const [port, demoPort] = [await freePort(), await freePort()];
        const app = await startImage(build, { FLOORPLAN_ENV: '', PORT: String(port), DEMO_PORT: String(demoPort), ...GENEROUS_DEADLINE }, cgroup);
        try {
          const auth = loadServiceConfig({ env: {} }).auth;
          // 32 users at once, 80 panels each (none near the per-user rate limit). A cold process
          // refuses some while its code warms up (503 OVERLOADED); each is asked again after its
          // Retry-After, as a client does, so every panel is rendered in the end.
          const [users, each] = [32, 80];
          const tokens = await Promise.all(Array.from({ length: users }, (_, i) => signDemoToken(auth, { userId: `u-heap-${i}` })));
          const unanswered: number[] = [];
          await Promise.all(
            tokens.map(async (token) => {
              for (let i = 0; i < each; i++) {
                let { status, retryAfterMs } = await panelOnce(app.url, token);
                for (let retries = 0; status === 503 && retries < 20; retries++) {
                  await new Promise((done) => setTimeout(done, retryAfterMs));
                  ({ status, retryAfterMs } = await panelOnce(app.url, token));
                }
                if (status !== 200) unanswered.push(status);
              }
            }),
          );
          const metrics = await (await fetch(`${app.url}/metrics`)).text();
          const sample = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics)?.[1]);
          const newSpace = sample('floorplan_nodejs_heap_space_size_total_bytes\\{space="new"\\}');
          const scavenges = sample('floorplan_nodejs_gc_duration_seconds_count\\{kind="minor"\\}');
          expect({ unanswered, newSpaceMb: newSpace / 2 ** 20, scavengesPerPanel: scavenges / (users * each) }).toEqual({
            unanswered: [],
            newSpaceMb: 128,
            scavengesPerPanel: expect.toSatisfy((rate: number) => rate < 0.03),
          });
        } finally {
          expect(await app.stop()).toBe(0);
          await cgroup.remove();
        }
      });
    }
  });

  // Production keeps layout revisions in PostgreSQL (LAYOUT_STORE_URL is required): a database of the test's own.
  describe.skipIf(!HAS_POSTGRES)('on its own production config, with PostgreSQL for the layout revisions', () => {
    let database: TestDatabase;
    let demo: DemoUpstreams;
    let jwks: Server;
    let jwksUrl: string;
    let privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

    beforeAll(async () => {
      database = await createTestDatabase();
      demo = await startDemoUpstreams({ port: 0, faults: '' });
      const keys = await generateKeyPair('RS256');
      privateKey = keys.privateKey;
      const jwk = { ...(await exportJWK(keys.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
      jwks = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })));
      jwks.listen(0, '127.0.0.1');
      await once(jwks, 'listening');
      jwksUrl = `http://127.0.0.1:${(jwks.address() as { port: number }).port}/.well-known/jwks.json`;
    });

    afterAll(async () => {
      await demo?.close();
      jwks?.close();
      await database?.drop();
    });

    it('serves a panel from the upstream URLs it is given, to a token signed by the JWKS keys, and refuses the demo secret', async () => {
      const port = await freePort();
      const upstreamUrls = { ...Object.fromEntries(UPSTREAM_URL_VARS.map(([u, name]) => [name, demo.baseUrls[u]])), LAYOUT_STORE_URL: database.url };
      // HOST: production listens on 0.0.0.0; a test keeps to loopback.
      const app = await startImage(build, { ...upstreamUrls, JWT_JWKS_URL: jwksUrl, PORT: String(port), HOST: '127.0.0.1', ...GENEROUS_DEADLINE });
      try {
        const config = loadServiceConfig({ dir: build.hostPath(build.image, 'config'), env: { ...build.image.env, ...upstreamUrls, JWT_JWKS_URL: jwksUrl } });
        const now = Math.floor(Date.now() / 1000);
        const token = await new SignJWT({})
          .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
          .setSubject('u1001')
          .setIssuer(config.auth.issuer)
          .setAudience(config.auth.audience)
          .setIssuedAt(now)
          .setExpirationTime(now + 600)
          .sign(privateKey);
        const res = await panel(app.url, token);
        expect(res.status).toBe(200);
        expect(res.body.data?.floorPanel.failedUpstreams).toEqual([]);
        expect(res.body.data?.floorPanel.degraded).toBe(false);
        expect(res.body.data?.floorPanel.floors[0]).toMatchObject({ code: 'spze', priceText: '¥20.90' });

        const demoToken = await signDemoToken(loadServiceConfig({ env: {} }).auth, { userId: 'u1001' });
        expect((await panel(app.url, demoToken)).status).toBe(401);
      } finally {
        expect(await app.stop()).toBe(0);
      }
    });
  });
});

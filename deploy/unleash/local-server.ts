/**
 * A real unleash-server on loopback, with an admin API client to drive it: the one the end-to-end
 * suites run, and the one `npm run topology` runs for its replicas.
 *
 * unleash-server is not a project dependency (≈420 packages, ≈190 MB, and 7.6+ needs Node 22):
 * `ensureUnleashInstalled()` installs the pinned version into the git-ignored `.e2e/unleash`
 * folder once and reuses it afterwards. `startUnleash()` runs it as a child process on
 * loopback, on a database of its own that is created fresh for every start, because
 * `initApiTokens` are only inserted while the token table is empty.
 *
 * Every server started here is killed when the test process exits, and the child also exits
 * by itself when its parent dies (it watches the stdin pipe the parent holds open), so a
 * crashed or SIGKILLed test run leaves no Unleash behind. Databases of runs that died are
 * dropped by the next `startUnleash()`.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { freePort } from '../ports.ts';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { processIsAlive } from '../../src/pid.ts';

/** The newest unleash-server that still accepts Node 20 (7.6+ requires Node 22). */
export const UNLEASH_SERVER_VERSION = '7.5.1';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Git-ignored (`.e2e/` in .gitignore); holds only what the end-to-end suites install. */
const UNLEASH_DIR = join(REPO_ROOT, '.e2e', 'unleash');
const INSTALL_LOCK_DIR = join(REPO_ROOT, '.e2e', 'unleash-install.lock');
const START_SCRIPT = join(UNLEASH_DIR, 'start-unleash.mjs');

const INSTALL_TIMEOUT_MS = 5 * 60_000;
/** A fresh database runs ≈374 migrations (≈5.5 s idle); CPU is shared with other suites. */
const HEALTH_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 5_000;
const PSQL_TIMEOUT_MS = 20_000;
const ADMIN_REQUEST_TIMEOUT_MS = 10_000;
const DATABASE_PREFIX = 'floorplan_e2e_unleash';
const LOG_TAIL_LINES = 60;

// ---------------------------------------------------------------------------------------------
// Install

let installing: Promise<string> | undefined;

/**
 * Installs unleash-server@{@link UNLEASH_SERVER_VERSION} into `<repo>/.e2e/unleash` unless that
 * exact version is already there, and returns the folder. Concurrent callers (in this process
 * or in other test processes sharing the working tree) wait for one install.
 */
export function ensureUnleashInstalled(): Promise<string> {
  installing ??= installOnce().catch((error: unknown) => {
    installing = undefined;
    throw error;
  });
  return installing;
}

async function installedVersion(): Promise<string | undefined> {
  try {
    const manifest = JSON.parse(await readFile(join(UNLEASH_DIR, 'node_modules', 'unleash-server', 'package.json'), 'utf8')) as {
      version?: unknown;
    };
    return typeof manifest.version === 'string' ? manifest.version : undefined;
  } catch {
    return undefined;
  }
}

async function installOnce(): Promise<string> {
  if ((await installedVersion()) === UNLEASH_SERVER_VERSION) return UNLEASH_DIR;
  await withInstallLock(async () => {
    if ((await installedVersion()) === UNLEASH_SERVER_VERSION) return;
    await mkdir(UNLEASH_DIR, { recursive: true });
    // A manifest of its own keeps npm from walking up to the project's package.json.
    await writeFile(
      join(UNLEASH_DIR, 'package.json'),
      `${JSON.stringify(
        {
          name: 'floorplan-e2e-unleash',
          private: true,
          description: 'Written by deploy/unleash/local-server.ts: the Unleash server the end-to-end suites run.',
          dependencies: { 'unleash-server': UNLEASH_SERVER_VERSION },
        },
        null,
        2,
      )}\n`,
    );
    await run(
      'npm',
      ['install', '--prefix', UNLEASH_DIR, '--no-audit', '--no-fund', '--omit=dev', '--engine-strict=false', '--loglevel=error'],
      { cwd: UNLEASH_DIR, timeoutMs: INSTALL_TIMEOUT_MS },
    );
    const version = await installedVersion();
    if (version !== UNLEASH_SERVER_VERSION) {
      throw new Error(`npm install must leave unleash-server@${UNLEASH_SERVER_VERSION} in ${UNLEASH_DIR}, but found: ${version ?? 'nothing'}`);
    }
  });
  return UNLEASH_DIR;
}

/** mkdir is atomic: the process that creates the folder installs, the others wait for it. */
async function withInstallLock(work: () => Promise<void>): Promise<void> {
  await mkdir(join(REPO_ROOT, '.e2e'), { recursive: true });
  const deadline = Date.now() + INSTALL_TIMEOUT_MS;
  for (;;) {
    try {
      await mkdir(INSTALL_LOCK_DIR);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const age = Date.now() - (await stat(INSTALL_LOCK_DIR).catch(() => ({ mtimeMs: Date.now() }))).mtimeMs;
      // A lock older than any install could take was left by a process that died mid-install.
      if (age > INSTALL_TIMEOUT_MS) await rm(INSTALL_LOCK_DIR, { recursive: true, force: true });
      else if (Date.now() > deadline) throw new Error(`another process has held ${INSTALL_LOCK_DIR} for over ${INSTALL_TIMEOUT_MS} ms`);
      else await sleep(500);
    }
  }
  try {
    await work();
  } finally {
    await rm(INSTALL_LOCK_DIR, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Server

export interface StartUnleashOptions {
  /** Port on 127.0.0.1. Default: a free port picked at start, kept across restart(). */
  readonly port?: number;
  /** How long start (and restart) waits for `GET /health`. Default 60 s; a busy machine running many processes may need more. */
  readonly healthTimeoutMs?: number;
}

export interface UnleashHandle {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** `url + '/api'`: what unleash-client takes as `url`. */
  readonly apiUrl: string;
  readonly port: number;
  /** The database this server runs on, dropped by dispose(). */
  readonly database: string;
  /** Secret of an admin token for all projects and environments (`*:*.<random>`). */
  readonly adminToken: string;
  /** Secret of a client (backend SDK) token for project `default`, environment `development`. */
  readonly backendToken: string;
  /** The user created on the fresh database (root role Admin): what the import endpoint needs. */
  readonly adminUser: UnleashAdminUser;
  /** Admin API client for this server, signed with `adminToken`, on project default / development. */
  readonly admin: UnleashAdmin;
  /** SIGTERM, then SIGKILL if it has not exited within 5 s. Keeps the database. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL: the server vanishes mid-request, like a crashed host. Keeps the database. Idempotent. */
  kill(): Promise<void>;
  /** Stops the server if running, starts it again on the same port and database (same tokens). */
  restart(): Promise<void>;
  /** stop(), then drops the database. What a suite's afterAll should call. */
  dispose(): Promise<void>;
  /** The server's recent stdout/stderr (log level warn), for failure messages. */
  logTail(): string;
}

const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;
let databaseSeq = 0;

/**
 * Starts unleash-server on 127.0.0.1 on a freshly created database, waits until `GET /health`
 * answers 200 (at most 60 s), and returns its handle. Call `dispose()` in afterAll.
 */
export async function startUnleash(opts: StartUnleashOptions = {}): Promise<UnleashHandle> {
  const folder = await ensureUnleashInstalled();
  await writeFile(START_SCRIPT, START_SCRIPT_SOURCE);
  installExitHook();
  await dropDatabasesOfDeadRuns();

  const port = opts.port ?? (await freePort());
  const database = `${DATABASE_PREFIX}_${process.pid}_${++databaseSeq}`;
  await psql(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
  await psql(`CREATE DATABASE "${database}"`);

  const adminToken = `*:*.${randomBytes(16).toString('hex')}`;
  const backendToken = `default:development.${randomBytes(16).toString('hex')}`;
  // Only a user's PAT (not an admin token) may use the import endpoint; see importFeatures().
  const adminUser = { username: 'floorplan-e2e-admin', password: `Aa1!${randomBytes(12).toString('hex')}` };
  const url = `http://127.0.0.1:${port}`;
  const serverOptions = {
    db: { host: '127.0.0.1', port: 5432, user: 'postgres', password: '', database, ssl: false },
    server: { host: '127.0.0.1', port },
    versionCheck: { enable: false },
    telemetry: false,
    logLevel: 'warn',
    authentication: {
      type: 'open-source',
      createAdminUser: true,
      initialAdminUser: adminUser,
      initApiTokens: [
        { tokenName: 'floorplan-e2e-admin', type: 'admin', environment: '*', projects: ['*'], secret: adminToken },
        { tokenName: 'floorplan-e2e-backend', type: 'backend', environment: 'development', projects: ['default'], secret: backendToken },
      ],
    },
  };

  let child: ChildProcess | undefined;
  const log: string[] = [];
  const logTail = (): string => log.join('');

  async function launch(): Promise<void> {
    const started = spawn(process.execPath, [START_SCRIPT], {
      cwd: folder,
      env: { ...process.env, FLOORPLAN_E2E_UNLEASH_OPTIONS: JSON.stringify(serverOptions), TZ: 'UTC' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    child = started;
    liveChildren.add(started);
    started.once('exit', () => liveChildren.delete(started));
    const keep = (chunk: Buffer): void => {
      log.push(chunk.toString('utf8'));
      if (log.length > LOG_TAIL_LINES) log.splice(0, log.length - LOG_TAIL_LINES);
    };
    started.stdout?.on('data', keep);
    started.stderr?.on('data', keep);
    // The child's stdin may close first when it exits; nothing to report then.
    started.stdin?.on('error', () => {});
    try {
      await waitForHealth(url, started, opts.healthTimeoutMs ?? HEALTH_TIMEOUT_MS);
    } catch (error) {
      await terminate(started, 'SIGKILL');
      throw new Error(`${(error as Error).message}\n--- unleash-server output ---\n${logTail()}`);
    }
  }

  async function halt(signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
    const running = child;
    child = undefined;
    if (running !== undefined) await terminate(running, signal);
  }

  let disposed = false;
  try {
    await launch();
  } catch (error) {
    await psql(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`).catch(() => {});
    throw error;
  }

  return {
    url,
    apiUrl: `${url}/api`,
    port,
    database,
    adminToken,
    backendToken,
    adminUser,
    admin: createUnleashAdmin({ url, adminToken, adminUser }),
    stop: () => halt('SIGTERM'),
    kill: () => halt('SIGKILL'),
    async restart() {
      if (disposed) throw new Error(`restart() needs a server that was not disposed, but ${database} was dropped`);
      await halt('SIGTERM');
      await launch();
    },
    async dispose() {
      await halt('SIGTERM');
      if (disposed) return;
      disposed = true;
      await psql(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
    },
    logTail,
  };
}

/**
 * Runs inside .e2e/unleash so `unleash-server` resolves from its node_modules. `start()` installs
 * unleash's own SIGTERM/SIGINT handlers (a graceful stop, then exit): adding ours would stop it
 * twice and turn a clean stop into "Unable to shutdown Unleash. Hard exit!".
 */
const START_SCRIPT_SOURCE = `// Written by deploy/unleash/local-server.ts on every start; edits here are lost.
import { start } from 'unleash-server';

let unleash;
let stopping = false;
async function parentGone() {
  if (stopping) return;
  stopping = true;
  try {
    await unleash?.stop();
  } finally {
    process.exit(0);
  }
}
// The parent holds stdin open; when it dies, even by SIGKILL, the pipe closes and we follow.
process.stdin.on('end', () => void parentGone());
process.stdin.on('error', () => void parentGone());
process.stdin.resume();

try {
  unleash = await start(JSON.parse(process.env.FLOORPLAN_E2E_UNLEASH_OPTIONS));
} catch (error) {
  console.error('unleash failed to start', error);
  process.exit(1);
}
`;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // 'exit' handlers must be synchronous: a SIGKILL is all that can be sent from here.
  process.once('exit', () => {
    for (const running of liveChildren) running.kill('SIGKILL');
  });
}

async function terminate(running: ChildProcess, signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
  if (running.exitCode !== null || running.signalCode !== null) return;
  const exited = once(running, 'exit');
  running.kill(signal);
  if (signal === 'SIGTERM') {
    const timer = setTimeout(() => running.kill('SIGKILL'), STOP_GRACE_MS);
    try {
      await exited;
    } finally {
      clearTimeout(timer);
    }
  } else {
    await exited;
  }
}

async function waitForHealth(url: string, running: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    if (running.exitCode !== null || running.signalCode !== null) {
      throw new Error(`unleash-server exited (code ${running.exitCode}, signal ${running.signalCode}) before ${url}/health answered`);
    }
    try {
      const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1_000) });
      await response.arrayBuffer();
      if (response.ok) return;
      last = `HTTP ${response.status}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await sleep(100);
  }
  throw new Error(`${url}/health must answer 200 within ${timeoutMs} ms, but the last attempt got: ${last}`);
}

async function dropDatabasesOfDeadRuns(): Promise<void> {
  const names = (await psql(`SELECT datname FROM pg_database WHERE datname LIKE '${DATABASE_PREFIX}\\_%'`)).split('\n').filter(Boolean);
  for (const name of names) {
    const pid = Number(/^floorplan_e2e_unleash_(\d+)_\d+$/.exec(name)?.[1]);
    if (!Number.isInteger(pid) || pid === process.pid || processIsAlive(pid)) continue;
    await psql(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  }
}

async function psql(sql: string): Promise<string> {
  return run('psql', ['-h', '127.0.0.1', '-p', '5432', '-U', 'postgres', '-d', 'postgres', '-v', 'ON_ERROR_STOP=1', '-X', '-A', '-t', '-c', sql], {
    timeoutMs: PSQL_TIMEOUT_MS,
  });
}

function run(command: string, args: string[], options: { cwd?: string; timeoutMs: number }): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd: options.cwd, timeout: options.timeoutMs, maxBuffer: 32 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`\`${command} ${args.join(' ')}\` failed: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}


function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ---------------------------------------------------------------------------------------------
// Admin API

/** Unleash's built-in flag types; the type only changes how the UI labels a flag's lifetime. */
export type UnleashFlagType = 'release' | 'experiment' | 'operational' | 'kill-switch' | 'permission';

export interface UnleashConstraint {
  readonly contextName: string;
  /** e.g. IN, NOT_IN, STR_CONTAINS, NUM_GT, DATE_AFTER, SEMVER_EQ. */
  readonly operator: string;
  /** For the list operators (IN, NOT_IN, STR_*). */
  readonly values?: readonly string[];
  /** For the single-value operators (NUM_*, DATE_*, SEMVER_*). */
  readonly value?: string;
  /** Negates the result. Default false. */
  readonly inverted?: boolean;
  /** For STR_* operators. Default false: case-sensitive. */
  readonly caseInsensitive?: boolean;
}

export interface UnleashVariant {
  readonly name: string;
  /** Out of 1000 across the variant list. */
  readonly weight: number;
  /** Default 'variable': shares the weight left after the 'fix' variants. */
  readonly weightType?: 'variable' | 'fix';
  /** Default 'default': userId, then sessionId, then random. */
  readonly stickiness?: string;
  readonly payload?: { readonly type: 'string' | 'json' | 'csv' | 'number'; readonly value: string };
  readonly overrides?: readonly { readonly contextName: string; readonly values: readonly string[] }[];
}

export interface UnleashStrategy {
  /** e.g. 'default', 'flexibleRollout', 'userWithId', or a custom strategy's name. */
  readonly name: string;
  /** Unleash stores every parameter as a string (rollout: '10'). */
  readonly parameters: Readonly<Record<string, string>>;
  /** Default: none, the strategy applies to every context. */
  readonly constraints?: readonly UnleashConstraint[];
  /** Strategy variants: served to contexts this strategy enables. Default: none. */
  readonly variants?: readonly UnleashVariant[];
}

export interface UnleashAdminUser {
  readonly username: string;
  readonly password: string;
}

export interface UnleashAdminOptions {
  /** `http://127.0.0.1:<port>`; any other host is refused. */
  readonly url: string;
  readonly adminToken: string;
  /**
   * A user with the Admin root role. Only importFeatures() needs it: Unleash refuses admin
   * tokens on the import endpoint, so it logs in once and mints a personal access token.
   * Default: none, and importFeatures() throws.
   */
  readonly adminUser?: UnleashAdminUser;
  /** Default 'default', the project every Unleash has. */
  readonly project?: string;
  /** Default 'development', the environment the backend token is scoped to. */
  readonly environment?: string;
}

/** A thin client of the 7.5.1 admin API; every call throws on a non-2xx answer, with its body. */
export interface UnleashAdmin {
  /** POST /api/admin/projects/:project/features. Type defaults to 'release'. */
  createFlag(name: string, type?: UnleashFlagType): Promise<void>;
  /** POST .../features/:name/environments/:env/strategies; returns the new strategy's id. */
  addStrategy(flag: string, strategy: UnleashStrategy): Promise<string>;
  /** PUT .../strategies/:id with the whole strategy (what is omitted is cleared). */
  updateStrategy(flag: string, strategyId: string, strategy: UnleashStrategy): Promise<void>;
  /** DELETE .../strategies/:id. */
  deleteStrategy(flag: string, strategyId: string): Promise<void>;
  /** GET .../environments/:env/strategies: the flag's strategies with their ids, in order. */
  strategies(flag: string): Promise<Array<UnleashStrategy & { readonly id: string }>>;
  /** POST .../environments/:env/on. */
  enable(flag: string): Promise<void>;
  /** POST .../environments/:env/off. */
  disable(flag: string): Promise<void>;
  /**
   * Replaces the variants of every strategy the flag has in this environment (it must have one).
   * 7.5.1 answers the environment-variants endpoints (PUT/PATCH .../environments/:env/variants)
   * with 403 "Environment variants deprecated" for any flag that has none yet, so strategy
   * variants are what a new flag can use — and what unleash-client evaluates first.
   */
  setVariants(flag: string, variants: readonly UnleashVariant[]): Promise<void>;
  /**
   * POST /api/admin/features-batch/import of `exportJson` — the format features-batch/export
   * and the UI's export produce — into this project and environment. Needs `adminUser`.
   */
  importFeatures(exportJson: unknown): Promise<void>;
  /** POST /api/admin/features-batch/export of the named flags in this environment. */
  exportFeatures(flags: readonly string[]): Promise<unknown>;
  /** Any other admin call, signed and bounded like the rest; returns the parsed JSON body or undefined. */
  request(method: string, path: string, body?: unknown): Promise<unknown>;
}

export function createUnleashAdmin(options: UnleashAdminOptions): UnleashAdmin {
  const base = new URL(options.url);
  if (base.hostname !== '127.0.0.1') {
    throw new TypeError(`UnleashAdminOptions.url must be on 127.0.0.1, but got: ${options.url}`);
  }
  const projectName = options.project ?? 'default';
  const environmentName = options.environment ?? 'development';
  const project = encodeURIComponent(projectName);
  const environment = encodeURIComponent(environmentName);
  const flagPath = (flag: string): string => `/api/admin/projects/${project}/features/${encodeURIComponent(flag)}`;
  const envPath = (flag: string): string => `${flagPath(flag)}/environments/${environment}`;
  const strategyBody = (strategy: UnleashStrategy): unknown => ({
    name: strategy.name,
    parameters: strategy.parameters,
    constraints: strategy.constraints ?? [],
    // The API requires weightType and stickiness on strategy variants; default them as the UI does.
    variants: (strategy.variants ?? []).map((variant) => ({ weightType: 'variable', stickiness: 'default', ...variant })),
  });

  async function send(method: string, path: string, body: unknown, authorization: Record<string, string>): Promise<Response> {
    const target = new URL(path, base);
    const response = await fetch(target, {
      method,
      headers: { ...authorization, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(ADMIN_REQUEST_TIMEOUT_MS),
      redirect: 'manual',
    });
    if (!response.ok) {
      const text = await response.text().catch(() => '');
      throw new Error(`Unleash admin ${method} ${target.pathname} must answer 2xx, but got: HTTP ${response.status} ${text.slice(0, 1_000)}`);
    }
    return response;
  }

  async function parse(response: Response): Promise<unknown> {
    const text = await response.text();
    return text === '' ? undefined : (JSON.parse(text) as unknown);
  }

  const request = async (method: string, path: string, body?: unknown): Promise<unknown> =>
    parse(await send(method, path, body, { authorization: options.adminToken }));

  let pat: Promise<string> | undefined;
  function personalAccessToken(): Promise<string> {
    const user = options.adminUser;
    if (user === undefined) {
      return Promise.reject(new TypeError('importFeatures() needs UnleashAdminOptions.adminUser: Unleash refuses admin tokens on import'));
    }
    pat ??= (async () => {
      const login = await send('POST', '/auth/simple/login', { username: user.username, password: user.password }, {});
      await login.arrayBuffer();
      const cookie = login.headers.getSetCookie().map((header) => header.split(';')[0]).join('; ');
      const expiresAt = new Date(Date.now() + 24 * 3_600_000).toISOString();
      const created = (await parse(await send('POST', '/api/admin/user/tokens', { description: 'floorplan-e2e import', expiresAt }, { cookie }))) as
        | { secret?: unknown }
        | undefined;
      if (typeof created?.secret !== 'string') throw new Error(`Unleash must answer a new PAT with its secret, but got: ${JSON.stringify(created)}`);
      return created.secret;
    })().catch((error: unknown) => {
      pat = undefined;
      throw error;
    });
    return pat;
  }

  const strategies = async (flag: string): Promise<Array<UnleashStrategy & { readonly id: string }>> =>
    (await request('GET', `${envPath(flag)}/strategies`)) as Array<UnleashStrategy & { readonly id: string }>;

  return {
    async createFlag(name, type = 'release') {
      await request('POST', `/api/admin/projects/${project}/features`, { name, type });
    },
    async addStrategy(flag, strategy) {
      const created = (await request('POST', `${envPath(flag)}/strategies`, strategyBody(strategy))) as { id?: unknown } | undefined;
      if (typeof created?.id !== 'string') throw new Error(`Unleash must answer a new strategy with its id, but got: ${JSON.stringify(created)}`);
      return created.id;
    },
    async updateStrategy(flag, strategyId, strategy) {
      await request('PUT', `${envPath(flag)}/strategies/${encodeURIComponent(strategyId)}`, strategyBody(strategy));
    },
    async deleteStrategy(flag, strategyId) {
      await request('DELETE', `${envPath(flag)}/strategies/${encodeURIComponent(strategyId)}`);
    },
    strategies,
    async enable(flag) {
      await request('POST', `${envPath(flag)}/on`);
    },
    async disable(flag) {
      await request('POST', `${envPath(flag)}/off`);
    },
    async setVariants(flag, variants) {
      const existing = await strategies(flag);
      if (existing.length === 0) {
        throw new Error(`setVariants("${flag}") needs a strategy in ${environmentName} to carry the variants, but the flag has none`);
      }
      for (const strategy of existing) {
        await request('PUT', `${envPath(flag)}/strategies/${encodeURIComponent(strategy.id)}`, strategyBody({ ...strategy, variants }));
      }
    },
    async importFeatures(exportJson) {
      const authorization = await personalAccessToken();
      await parse(
        await send('POST', '/api/admin/features-batch/import', { project: projectName, environment: environmentName, data: exportJson }, { authorization }),
      );
    },
    exportFeatures(flags) {
      return request('POST', '/api/admin/features-batch/export', { features: flags, environment: environmentName });
    },
    request,
  };
}

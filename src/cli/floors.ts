/**
 * Operator tools for the floors layouts and their revisions.
 *   npm run -s floors:check    [-- --dir <folder>]          validate every floors file, and print what every live app
 *                                                          version would get per scene (config/clients.yaml)
 *   npm run -s floors:publish  [-- --dir <folder>] [--message <text>] [--author <name>] [--from <revision>]
 *                                                          validate, record a new live revision, push it to the replicas
 *   npm run -s floors:history  [-- --limit <n>]             revisions, newest first (* = live)
 *   npm run -s floors:show     -- <revision>                one revision: who, when, why, and its files
 *   npm run -s floors:diff     [-- <from> [<to>]]           floors added, removed, reordered, fields changed per locale
 *                                                          (default: the live revision against its parent)
 *   npm run -s floors:rollback -- <revision> [--message <text>] [--author <name>] [--from <revision>]
 *                                                          make an earlier revision's floors live again, as a new revision
 *                                 --from: the live revision you read (floors:history, floors:diff); refused, nothing
 *                                 changed, when another is live by now, which this one would silently undo
 *   npm run -s floors:audit    [-- --limit <n>]             who did what when
 *   npm run -s floors:candidates [-- <scene>]                each scene's candidate (or the one named): its revision, who staged
 *                                                          it when and why, its rollout, its approval and its shadow comparison
 *                                                          — the revision --replaces and --revision below name
 *   npm run -s floors:candidate -- <scene> [--dir <folder> | --revision <n>] [--replaces <revision|none>] [--allow <id,id>] [--percentage <0-100>]
 *                                 [--segments <s,s>] [--platforms <p,p>] [--min-app-version <x.y.z>] [--message <text>] [--author <name>]
 *                                                          publish a revision as the scene's candidate, served to the allow-list,
 *                                                          then a percentage by user id (README "Releasing a layout")
 *                                 --replaces: the scene's candidate revision you read (floors:candidates), or none when it
 *                                 had none; refused, nothing changed, when it has
 *                                 another by now (or none, or one): a colleague made, replaced, promoted or aborted one
 *   npm run -s floors:rollout  -- <scene> [--revision <n>] [--allow <id,id>] [--percentage <0-100>] [--segments …] [--platforms …] [--min-app-version …] [--message <text>]
 *                                                          change who gets the candidate (only the options given)
 *                                 Lists are split on commas (ASCII or a Chinese IME's ，), 、, semicolons and spaces.
 *   npm run -s floors:promote  -- <scene> [--revision <n>] [--force] [--message <text>] [--author <name>]
 *                                                          make the candidate live as a new revision; refused while its shadow
 *                                                          comparison saw invariant violations, unless --force (audited)
 *   npm run -s floors:approve  -- <scene> [--revision <n>] [--message <text>]
 *                                                          approve the candidate (layouts.approval: a change to money floors
 *                                                          is promoted only after an admin other than its publisher approved it)
 *   npm run -s floors:abort    -- <scene> [--revision <n>] [--message <text>]  drop the candidate: its users get the live layout again
 *   npm run -s floors:schema                               write schema/floors.schema.json (the JSON Schema
 *                                                          editors validate floors/*.yaml with) from the loader's schema
 * The folder defaults to config `floors.dir`; the store is config `layouts.store` (LAYOUT_STORE,
 * LAYOUT_STORE_URL, LAYOUT_STORE_DIR). With `--server <url>` a command goes to a running
 * Floorplan's admin API (Authorization: Bearer ADMIN_TOKEN) instead: the way to reach a PGlite
 * store, which only the process holding it may open. The author is `--author`, else the actor: the
 * operating-system user here, the admin credential's identity through the API.
 * With `layouts.store.kind: none`, floors:publish writes Redis only, as before revisions.
 * Problems go to stderr, one per line. With no Unleash URL configured, every floor's `flag` must
 * also be defined in the flags file (`flags.bootstrapFile`); through `--server`, in that server's
 * flags, which its admin API checks (this machine's flags file is not read for it).
 * The rules added after earlier releases (a name holding a {variable}, a variant sharing a version,
 * a floor coded as a safe-form row)
 * hold, for publish and candidate, for the files that differ from live's (the store's live
 * revision, or with kind none the set Redis holds), as in the admin API; check compares with no
 * live revision and holds every file to them, as a publish to a store with nothing live does.
 * check, publish and candidate refuse a set that would send a live app version (config
 * `floors.clientsFile`, config/clients.yaml) a style token, field or floor kind it does not
 * understand, printing the matrix (version × scene × what it would get) and each problem.
 * Exit codes: 0 done; 1 invalid floors files, or incompatible with a live app version, nothing
 * published; 2 usage, config (clients file included), an unknown
 * revision, a refusal because another operator changed what --from, --replaces or --revision
 * named (the admin API's 409 words), a publish or rollback that would take off the air a scene
 * that has a candidate (abort it first), a scene no floors define (approve, candidates and the
 * other candidate commands), or Redis or the revision store unreachable (nothing changed).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadClientsConfig, type ClientsConfig } from '../config/clients-config.ts';
import { loadServiceConfig, type ServiceConfig } from '../config/service-config.ts';
import { describeThrown, ErrorCode, FloorplanError } from '../errors.ts';
import { parseFlagsFile } from '../flags/flags-file.ts';
import { defaultBuilders } from '../floors/builders/index.ts';
import { createBuilderRegistry, type BuilderRegistry } from '../floors/registry.ts';
import { unknownFlagProblems } from '../layouts/flag-names.ts';
import type { FloorsSource, LayoutSet } from '../layouts/compile.ts';
import { compileFloorsSources, FLOORS_DIR_SETTING, FLOORS_SCHEMA_FILE, floorsSchemaText, layoutProblems, readFloorsDir } from '../layouts/compile.ts';
import { checkCompatibility, formatCompatibility, IncompatibleLayouts, type CompatibilityReport } from '../layouts/compatibility.ts';
import { publishLayouts, pushPublishedLayouts, pushRefusal } from '../layouts/publish.ts';
import { formatLayoutsDiff, type VersionKept } from '../layouts/revisions/diff.ts';
import { pushCandidates, rolloutWhom, type CandidateRollout, type CandidateSet, type StoredCandidate } from '../layouts/revisions/candidates.ts';
import {
  LayoutReleases,
  type CandidateApproval,
  type LayoutOperations,
  type ListedCandidate,
  type PromoteResult,
  type PublishResult,
  type ShadowVerdict,
} from '../layouts/revisions/releases.ts';
import { OperationRefused, type StoredRevision } from '../layouts/revisions/revision-store.ts';
import { describeMoneyChanges } from '../layouts/revisions/approval.ts';
import { createLogger } from '../observability/logger.ts';
import { closeRedis, describeRedis, isRedisConfigured, openRedis, whenRedisReady, type RedisClient } from '../redis/client.ts';
import { ignoreClosedReader } from './closed-reader.ts';

const USAGE = [
  'usage: npm run -s floors:check [-- --dir <folder>]',
  '       npm run -s floors:publish [-- --dir <folder>] [--message <text>] [--author <name>] [--from <revision>] [--server <url>]',
  '       npm run -s floors:history [-- --limit <n>] [--server <url>]',
  '       npm run -s floors:show -- <revision> [--server <url>]',
  '       npm run -s floors:diff [-- <from> [<to>]] [--server <url>]',
  '       npm run -s floors:rollback -- <revision> [--message <text>] [--author <name>] [--from <revision>] [--server <url>]',
  '       npm run -s floors:audit [-- --limit <n>] [--server <url>]',
  '       npm run -s floors:candidates [-- <scene>] [--server <url>]',
  '       npm run -s floors:candidate -- <scene> [--dir <folder> | --revision <n>] [--replaces <revision|none>] [--allow <id,id>] [--percentage <0-100>] [--segments <s,s>] [--platforms <p,p>] [--min-app-version <x.y.z>] [--message <text>] [--author <name>] [--server <url>]',
  '       npm run -s floors:rollout -- <scene> [--revision <n>] [--allow <id,id>] [--percentage <0-100>] [--segments <s,s>] [--platforms <p,p>] [--min-app-version <x.y.z>] [--message <text>] [--server <url>]',
  '       npm run -s floors:promote -- <scene> [--revision <n>] [--force] [--message <text>] [--author <name>] [--server <url>]',
  '       npm run -s floors:approve -- <scene> [--revision <n>] [--message <text>] [--server <url>]',
  '       npm run -s floors:abort -- <scene> [--revision <n>] [--message <text>] [--server <url>]',
  '       npm run -s floors:schema',
].join('\n');
/** A tool, not the request path: a publish may wait on Redis longer than a cache read would. */
const PUBLISH_COMMAND_TIMEOUT_MS = 5000;

/** Exit 1: the floors files are invalid. */
class InvalidFloors extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`${problems.length} problem(s)`);
    this.problems = problems;
  }
}

/** Exit 1: some live app version would be sent what it does not understand; the matrix says what each gets. */
class Incompatible extends Error {
  readonly report: CompatibilityReport;
  constructor(report: CompatibilityReport) {
    super(`${report.problems.length} problem(s)`);
    this.report = report;
  }
}

/** Exit 2: wrong arguments, config or Redis not reachable. */
class UsageError extends Error {}

interface Context {
  readonly config: ServiceConfig;
  readonly dir: string;
  /** Where `dir` came from, for a message about it: `--dir`, or the config setting and its variable. */
  readonly dirSetting: string;
  readonly registry: BuilderRegistry;
  /** config/clients.yaml; undefined: there is none, compatibility is not checked. */
  readonly clients: ClientsConfig | undefined;
}

function summary(layouts: LayoutSet): string {
  return [...layouts.values()].map((l) => `${l.scene}: version ${l.version}, ${l.floors.length} floor(s) (${l.file})`).join('\n');
}

/**
 * Every problem of every file, or the compiled set — with what every live app version would
 * get from it (undefined: no clients file). Refused (Incompatible) when a version would get
 * something it does not understand. `newText`: whether every file also follows the rules for
 * new text (CompileOptions.submitted) — floors:check, which has no live revision to compare with,
 * judges every file by them, as a publish to a store with nothing live does; a publish or
 * candidate checks here only what needs no live revision, and the store or server it goes to
 * judges the files that differ from live's by the rest, as the admin API does.
 */
function validate(
  { config, dir, dirSetting, registry, clients }: Context,
  newText: boolean,
  flagNames: 'here' | 'by-the-server' = 'here',
): { layouts: LayoutSet; compatibility: CompatibilityReport | undefined } {
  let sources;
  try {
    sources = readFloorsDir(dir, dirSetting);
  } catch (error) {
    if (error instanceof IncompatibleLayouts) throw new Incompatible(error.report);
    if (error instanceof FloorplanError && error.code === ErrorCode.LAYOUT_INVALID) throw new InvalidFloors(layoutProblems(error));
    throw error;
  }
  const compiled = compileFloorsSources(sources, registry, config.floors.locales, config.apps, { submitted: newText });
  if (compiled.layouts === undefined) throw new InvalidFloors(compiled.problems);
  // Through --server the flags that count are that server's (its flags file, or its Unleash), which
  // its admin API checks the set against; this machine's flags file may not even have the flag.
  const flagProblems = flagNames === 'here' ? checkFlagNames(config, compiled.layouts) : [];
  if (flagProblems.length > 0) throw new InvalidFloors(flagProblems);
  const compatibility = clients === undefined ? undefined : checkCompatibility(compiled.layouts, clients);
  if (compatibility !== undefined && compatibility.problems.length > 0) throw new Incompatible(compatibility);
  return { layouts: compiled.layouts, compatibility };
}

/** The matrix under a line saying what it is; or why there is none. */
function compatibilityText(report: CompatibilityReport | undefined, clientsFile: string): string {
  if (report === undefined) return `compatibility: not checked, there is no clients file at ${clientsFile} (config floors.clientsFile)\n`;
  const checked = new Set(report.rows.filter((r) => r.checked).map((r) => `${r.platform} ${r.version}`)).size;
  const head = `compatibility with the ${checked} supported live app version(s) in ${report.clientsFile} (flagged floors count as sent; disabled ones do not):`;
  return `${head}\n${formatCompatibility(report).join('\n')}\n`;
}

/**
 * Local flags mode: every flag a floor names must be in the flags file, as the server requires at
 * load. Remote mode: not checked here — a flag may be created in Unleash after the floor, and the
 * server reports it (floorplan_layout_unknown_flags) instead of refusing it.
 */
function checkFlagNames(config: ServiceConfig, layouts: LayoutSet): readonly string[] {
  if (config.flags.unleashUrl !== '') return [];
  const path = resolve(config.flags.bootstrapFile);
  const shown = relative(process.cwd(), path).startsWith('..') ? path : relative(process.cwd(), path);
  let names: ReadonlySet<string>;
  try {
    names = new Set(parseFlagsFile(readFileSync(path, 'utf8'), shown, config.flags.environment).features.map((f) => f.name));
  } catch (error) {
    throw new UsageError(`cannot check the floors' flag names: with no Unleash URL configured they must be in ${shown}, but it ${error instanceof FloorplanError ? `is invalid:\n${error.message}` : `cannot be read: ${describeThrown(error)}`}`);
  }
  return unknownFlagProblems(layouts, names, shown);
}

function check(context: Context): void {
  const { layouts, compatibility } = validate(context, true);
  process.stdout.write(`${summary(layouts)}\n\n${compatibilityText(compatibility, context.config.floors.clientsFile)}`);
}

async function publishToRedisOnly(context: Context): Promise<void> {
  const { config } = context;
  if (!isRedisConfigured(config.redis)) {
    throw new UsageError(
      'floors:publish needs Redis, but none is configured: set REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES (or redis.* in config/<env>.yaml) to the Redis every instance uses',
    );
  }
  // Validate before connecting: a broken file is reported the same with or without Redis. The
  // rules for new text need the set Redis serves; publishLayouts judges the files that differ from it.
  validate(context, false);
  const url = describeRedis(config.redis);
  const redis = openRedis({ ...config.redis, commandTimeoutMs: PUBLISH_COMMAND_TIMEOUT_MS, name: 'floors-publish' }, createLogger('silent'));
  try {
    const notReady = await whenRedisReady(redis, config.redis.connectTimeoutMs);
    if (notReady !== undefined) throw new UsageError(`cannot connect to Redis at ${url}: ${describeThrown(notReady)}; nothing was published`);
    let result;
    try {
      result = await publishLayouts({ ...context, locales: config.floors.locales, apps: config.apps, redis, keyPrefix: config.redis.keyPrefix });
    } catch (error) {
      if (error instanceof IncompatibleLayouts) throw new Incompatible(error.report);
    if (error instanceof FloorplanError && error.code === ErrorCode.LAYOUT_INVALID) throw new InvalidFloors(layoutProblems(error));
      throw new UsageError(`publishing to Redis at ${url} failed: ${describeThrown(error)}; run floors:publish again`);
    }
    process.stdout.write(`published revision ${result.revision} to ${url} (key ${result.key})\n`);
    process.stdout.write(`${result.scenes.map((s) => `${s.scene}: version ${s.version}`).join('\n')}\n`);
    printVersionKept(result.versionKept);
  } finally {
    await closeRedis(redis);
  }
}

/** The commands that only read the store: one that cannot open it changed nothing, and says so in a read's words. */
const READ_COMMANDS: ReadonlySet<Command> = new Set(['history', 'show', 'diff', 'audit', 'candidates']);

/** The revision operations straight on the configured store (and Redis for the push); close() releases both. */
async function openStore(context: Context, command: Command): Promise<{ operations: LayoutOperations; close(): Promise<void> }> {
  const { config } = context;
  const logger = createLogger('silent');
  // Imported here: floors:check and the Redis-only publish should not pay for loading the database clients.
  const { asReadRefusal, RevisionStore } = await import('../layouts/revisions/revision-store.ts');
  const store = new RevisionStore(config.layouts.store, { logger });
  try {
    await store.check();
  } catch (error) {
    await store.close();
    const inUse = /in use by process (\d+)/.exec(store.problem());
    if (inUse !== null) {
      throw new UsageError(
        `${store.problem()}\nrun the command through that Floorplan's admin API instead: add -- --server http://127.0.0.1:${config.server.managementPort ?? config.server.port} (with ADMIN_TOKEN set)`,
      );
    }
    throw new UsageError(describeThrown(READ_COMMANDS.has(command) ? asReadRefusal(error) : error));
  }
  let redis: RedisClient | undefined;
  if (isRedisConfigured(config.redis)) {
    redis = openRedis({ ...config.redis, commandTimeoutMs: PUBLISH_COMMAND_TIMEOUT_MS, name: 'floors-publish' }, logger);
  }
  const pushTo = redis;
  const releases = new LayoutReleases({
    store,
    registry: context.registry,
    locales: config.floors.locales,
    apps: config.apps,
    approval: config.layouts.approval,
    ...(context.clients === undefined ? {} : { clients: context.clients }),
    logger,
    ...(pushTo === undefined
      ? {}
      : {
          push: async (r: StoredRevision) => {
            const notReady = await whenRedisReady(pushTo, config.redis.connectTimeoutMs);
            if (notReady !== undefined) throw new Error(`cannot connect to Redis at ${describeRedis(config.redis)}: ${describeThrown(notReady)}`);
            // As the admin API does (src/app.ts): a refusal is reported as not pushed, with Redis's reason; already held counts as pushed.
            const refused = pushRefusal(await pushPublishedLayouts(pushTo, config.redis.keyPrefix, { revision: r.revision, publishedAt: r.createdAt, files: r.files }), r.revision);
            if (refused !== undefined) throw new Error(refused);
          },
          pushCandidates: async (set: CandidateSet) => {
            const notReady = await whenRedisReady(pushTo, config.redis.connectTimeoutMs);
            if (notReady !== undefined) throw new Error(`cannot connect to Redis at ${describeRedis(config.redis)}: ${describeThrown(notReady)}`);
            return pushCandidates(pushTo, config.redis.keyPrefix, set);
          },
        }),
  });
  return {
    operations: releases.as(userInfo().username),
    async close() {
      if (pushTo !== undefined) await closeRedis(pushTo);
      await store.close();
    },
  };
}

/**
 * An admin API answer that is not a success: the layout routes' `{error, code, problems?}`; or
 * `{errors: [{message, extensions}]}`, the GraphQL shape the HTTP layer answers in when it refuses
 * a request before a route runs (a body over `server.bodyLimitBytes`) or when a route failed
 * unexpectedly ("Internal server error").
 */
interface AdminAnswer {
  readonly error?: string;
  readonly code?: string;
  readonly problems?: string[];
  readonly compatibility?: CompatibilityReport;
  readonly errors?: ReadonlyArray<{ readonly message?: unknown; readonly extensions?: { readonly code?: unknown; readonly reason?: unknown } }>;
}

/** "HTTP 413: <message> (<code>)" for an answer in the GraphQL shape: its internal code (`reason`) when it has one, else its client code; just "HTTP 502" for an answer without either (a proxy's page). */
function refusedAs(status: number, error: NonNullable<AdminAnswer['errors']>[number] | undefined): string {
  if (typeof error?.message !== 'string') return `HTTP ${status}`;
  const code = [error.extensions?.reason, error.extensions?.code].find((c): c is string => typeof c === 'string');
  return `HTTP ${status}: ${error.message}${code === undefined ? '' : ` (${code})`}`;
}

/** The same operations through a running Floorplan's admin API. */
function adminApi(server: string, token: string): LayoutOperations {
  if (token === '') throw new UsageError('--server needs the admin credential: set ADMIN_TOKEN (or admin.token in config/<env>.yaml)');
  const call = async (operation: string, input: unknown): Promise<never> => {
    let response: Response;
    try {
      response = await fetch(new URL(`/admin/layouts/${operation}`, server), {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify(input),
      });
    } catch (error) {
      throw new UsageError(`cannot reach Floorplan at ${server}: ${describeThrown((error as Error).cause ?? error)}; nothing was changed`);
    }
    const body = (await response.json().catch(() => ({}))) as AdminAnswer;
    if (response.ok) return body as never;
    if (body.code === ErrorCode.LAYOUT_INVALID) throw new InvalidFloors(body.problems ?? [body.error ?? 'invalid']);
    if (body.code === ErrorCode.LAYOUT_INCOMPATIBLE && body.compatibility !== undefined) throw new Incompatible(body.compatibility);
    if (response.status === 404 && body.code === undefined) {
      // Its own reason (a Floorplan that keeps no revisions says so), else no such route: a
      // Floorplan answers /admin/* 404 as an unknown path on its apps' port when it has a
      // management one, and everywhere with an empty admin token (production's default).
      if (typeof body.error === 'string') throw new UsageError(body.error);
      throw new UsageError(
        `${server} has no layout admin API: a Floorplan serves it only with admin.token (ADMIN_TOKEN) or admin.operators (ADMIN_OPERATORS) set, and with server.managementPort (MANAGEMENT_PORT) on that port only, not the apps' port; --server takes that Floorplan's management URL`,
      );
    }
    throw new UsageError(`${body.error ?? refusedAs(response.status, body.errors?.[0])}${body.problems === undefined ? '' : `\n${body.problems.join('\n')}`}`);
  };
  return {
    publish: ({ sources: _labels, ...input }) => call('publish', input),
    history: (input) => call('history', input),
    show: (input) => call('show', input),
    diff: (input) => call('diff', input),
    rollback: (input) => call('rollback', input),
    audit: (input) => call('audit', input),
    candidate: ({ sources: _labels, ...input }) => call('candidate', input),
    rollout: (input) => call('rollout', input),
    promote: (input) => call('promote', input),
    approve: (input) => call('approve', input),
    abort: (input) => call('abort', input),
    candidates: () => call('candidates', {}),
  };
}

const quoted = (text: string) => (text === '' ? '' : ` "${text}"`);

/** What a forced promote was forced over, in the shadow comparison it read (a server's answer may lack `compared`). */
function forcedOver(result: PromoteResult): string {
  const violations = result.invariantViolations ?? null;
  if (violations === null) return 'no shadow comparison read';
  if (violations > 0) return `${violations} invariant violation(s)`;
  return (result.compared ?? null) === 0 ? 'nothing compared in the shadow yet' : '0 invariant violation(s)';
}

/** A warning per scene (or variant) whose floors changed under the same `version:`: accepted, but layoutVersion cannot tell the two apart. */
function printVersionKept(kept: readonly VersionKept[]): void {
  for (const v of kept) {
    const where = v.variant === undefined ? v.scene : `${v.scene} (variant ${v.variant})`;
    process.stdout.write(
      `warning: the floors of ${where} changed, but its version did not (still ${JSON.stringify(v.version)}): layoutVersion does not tell them from the last ones (the decision record's revision does); give it a new version next time\n`,
    );
  }
}

function printPublished(result: PublishResult, what: string): void {
  const r = result.revision;
  process.stdout.write(`${what} revision ${r.revision} (live) by ${r.author}${quoted(r.message)}; parent ${r.parent ?? 'none'}${r.rollbackOf === null ? '' : `, restores revision ${r.rollbackOf}`}\n`);
  process.stdout.write(result.pushed ? 'pushed to every replica through Redis\n' : `not pushed through Redis: ${result.pushProblem ?? 'unknown'}\n`);
  process.stdout.write(`${result.scenes.map((s) => `${s.scene}: version ${s.version}`).join('\n')}\n`);
  // A server older than this command answers without the field.
  const removed = result.removedScenes ?? [];
  if (removed.length > 0) process.stdout.write(`warning: scene(s) taken off the air, apps asking for them are now refused: ${removed.join(', ')}\n`);
  printVersionKept(result.versionKept ?? []);
  // By design a change of live does not reach a candidate's users: said here, or the rollback reads as if it reached everyone.
  if (result.candidatesServed === null) process.stdout.write('warning: could not read which candidates are still served (floors:candidates lists them): their users keep them, not these floors\n');
  for (const c of result.candidatesServed ?? []) {
    process.stdout.write(
      `warning: the candidate of ${c.scene} (revision ${c.revision}) is still served to ${rolloutWhom(c.rollout)}: they keep its floors, not these; floors:abort -- ${c.scene} gives them the live ones\n`,
    );
  }
}

function revisionNumber(text: string | undefined, what: string): number {
  const n = Number(text);
  if (text === undefined || !Number.isInteger(n) || n < 1) throw new UsageError(`${what} must be a revision number (1, 2, …), but got: ${text === undefined ? 'nothing' : JSON.stringify(text)}\n${USAGE}`);
  return n;
}

/** `--replaces`: the candidate revision the operator read, or null for `none` (the scene had none). */
function replacedCandidate(text: string): number | null {
  if (text === 'none') return null;
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < 1) {
    throw new UsageError(`--replaces must be the candidate revision of the scene you read (1, 2, …), or none when it had none, but got: ${JSON.stringify(text)}\n${USAGE}`);
  }
  return n;
}

/** "rollout: allow-list [u1001], then 20 % by user id (only platforms ios)". */
const rolloutText = (r: CandidateRollout): string => `rollout: ${rolloutWhom(r)}`;

function printCandidate(c: StoredCandidate, pushed: boolean, pushProblem: string | undefined): void {
  process.stdout.write(`${rolloutText(c.rollout)}\n`);
  process.stdout.write(pushed ? 'pushed to every replica through Redis\n' : `not pushed through Redis: ${pushProblem ?? 'unknown'}\n`);
}

/**
 * Whether promoting needs another admin's approval, and for which floors; undefined when
 * layouts.approval is off. `given`: it has it now, and the words after "given" (who, when), if any.
 */
function approvalText(scene: string, approval: CandidateApproval, given?: string): string | undefined {
  if (!approval.required) return undefined;
  if (approval.changes.length === 0) return 'approval: not needed (no money floor changes)';
  if (given !== undefined) return `approval: given${given}, for the money floors it changes: ${describeMoneyChanges(approval.changes)}; it may be promoted`;
  return `approval: needed before promote, it changes money floors: ${describeMoneyChanges(approval.changes)} (another admin runs floors:approve -- ${scene}); until then it reaches its allow-list only`;
}

function printApproval(scene: string, approval: CandidateApproval, given?: string): void {
  const text = approvalText(scene, approval, given);
  if (text !== undefined) process.stdout.write(`${text}\n`);
}

/** What promote would read of a candidate's shadow comparison, in a line. */
function shadowText(scene: string, verdict: ShadowVerdict | null): string {
  if (verdict === null) return 'shadow comparison: none here (this command does not talk to a replica: add --server <url>); a promote from here needs --force';
  if (verdict.compared === 0) return `shadow comparison: nothing compared yet (no live request of ${scene} since it was staged); promote is refused until one is`;
  const refused = verdict.invariantViolations > 0 ? '; promote is refused while there are any' : '';
  return `shadow comparison: ${verdict.compared} live panel(s) compared with it, ${verdict.invariantViolations} invariant violation(s)${refused}`;
}

/**
 * A candidate as floors:candidates lists it: the revision --replaces and --revision name, who
 * staged it when and why, who gets it, its approval and its shadow comparison; a line each.
 */
function candidateText(c: ListedCandidate): string {
  const publishedBy = c.publishedBy === c.author ? '' : ` (published by ${c.publishedBy})`;
  const changed = c.updatedAt === c.createdAt ? '' : `; changed at ${c.updatedAt}`;
  const given = c.approvedBy === null ? undefined : ` by ${c.approvedBy} at ${c.approvedAt ?? '?'}`;
  // A server older than this command answers without `approval` and `shadow`.
  const { approval, shadow } = c as Partial<Pick<ListedCandidate, 'approval' | 'shadow'>>;
  const approvalLine =
    approval === undefined
      ? `approval: ${given === undefined ? 'not given' : `given${given}`} (the server does not say whether promote needs it)`
      : (approvalText(c.scene, approval, given) ?? `approval: not asked for (layouts.approval.required is off)${given === undefined ? '' : `; given${given}`}`);
  return [
    `candidate of ${c.scene}: revision ${c.revision}, staged by ${c.author} at ${c.createdAt}${quoted(c.message)}${publishedBy}`,
    `${rolloutText(c.rollout)}${changed}`,
    approvalLine,
    shadow === undefined ? 'shadow comparison: the server does not say (POST /admin/layouts/shadow does)' : shadowText(c.scene, shadow),
    '',
  ].join('\n');
}

/**
 * The rollout options given on the command line; only those given. A list is split on what
 * operators type between ids — commas, a Chinese IME's ， and 、, semicolons, spaces — none of
 * which a user id, segment or platform holds: "u1001，u2002" is two users, not one nobody has.
 */
function rolloutOptions(values: ParsedArgs['values']): Partial<Mutable<CandidateRollout>> {
  const list = (text: string) => text.split(/[\s,，、;；]+/u).filter(Boolean);
  const rollout: Partial<Mutable<CandidateRollout>> = {};
  if (values.allow !== undefined) rollout.allowList = list(values.allow);
  if (values.percentage !== undefined) {
    // Whole per cent only: Unleash buckets users by whole per cent (candidates.ts), and `Number` would take 0x10 or 1e1.
    const n = /^\d{1,3}$/.test(values.percentage) ? Number(values.percentage) : Number.NaN;
    if (!(n >= 0 && n <= 100)) throw new UsageError(`--percentage must be a whole number from 0 to 100 (Unleash buckets users by whole per cent), but got: ${JSON.stringify(values.percentage)}`);
    rollout.percentage = n;
  }
  if (values.segments !== undefined) rollout.segments = list(values.segments);
  if (values.platforms !== undefined) rollout.platforms = list(values.platforms);
  if (values['min-app-version'] !== undefined) rollout.minAppVersion = values['min-app-version'] === '' ? null : values['min-app-version'];
  return rollout;
}
type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function sceneArgument(text: string | undefined, command: string): string {
  if (text === undefined) throw new UsageError(`floors:${command} <scene>: the scene is missing\n${USAGE}`);
  return text;
}

async function runOperation(command: Command, context: Context, args: ParsedArgs): Promise<void> {
  const { values, positionals } = args;
  const limit = values.limit === undefined ? 20 : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new UsageError(`--limit must be a whole number from 1 to 1000, but got: ${JSON.stringify(values.limit)}`);
  const author = values.author === undefined ? {} : { author: values.author };
  // Read before the store is opened: a bad option is a usage error, whatever the store's state.
  if (command === 'candidate' && values.revision !== undefined && values.dir !== undefined) {
    throw new UsageError('floors:candidate takes --dir <folder> (a new revision of those files) or --revision <n> (one the store holds), not both');
  }
  const rollout = command === 'candidate' || command === 'rollout' ? rolloutOptions(values) : {};
  // candidate: the scene's candidate read, refused if it is another (or none, or one) by now.
  const replaces = values.replaces === undefined ? {} : { replaces: replacedCandidate(values.replaces) };
  // approve, promote, abort and rollout: the candidate revision reviewed, refused if it is not the candidate any more.
  const reviewed = values.revision === undefined || command === 'candidate' ? {} : { revision: revisionNumber(values.revision, '--revision') };
  // publish and rollback: the live revision read, refused if another is live by now.
  const from = values.from === undefined ? {} : { from: revisionNumber(values.from, '--from') };
  const message = values.message === undefined ? {} : { message: values.message };

  let sources: FloorsSource[] | undefined;
  if (command === 'publish' || (command === 'candidate' && values.revision === undefined)) {
    // Validated here first: a broken folder is reported the same way whichever store or server.
    // The rules for new text need the live revision: the store or server judges those (releases.validate).
    validate(context, false, values.server === undefined ? 'here' : 'by-the-server');
    sources = readFloorsDir(context.dir, context.dirSetting);
  }
  const opened = values.server === undefined ? await openStore(context, command) : { operations: adminApi(values.server, context.config.admin.token), close: async () => undefined };
  const ops = opened.operations;
  try {
    switch (command) {
      case 'publish': {
        const files = Object.fromEntries((sources as FloorsSource[]).map((f) => [f.name, f.source]));
        printPublished(await ops.publish({ files, sources: sources as FloorsSource[], message: values.message ?? '', ...author, ...from }), 'published');
        return;
      }
      case 'rollback':
        printPublished(await ops.rollback({ revision: revisionNumber(positionals[0], 'floors:rollback <revision>'), ...message, ...author, ...from }), 'rolled back as');
        return;
      case 'history': {
        const { live, revisions } = await ops.history({ limit });
        if (revisions.length === 0) process.stdout.write('no revisions yet: publish one with npm run -s floors:publish\n');
        for (const r of revisions) {
          const note = r.rollbackOf !== null ? ` (rollback to ${r.rollbackOf})` : r.promotes !== null ? ` (promotes candidate ${r.promotes})` : '';
          process.stdout.write(`${r.revision === live ? '*' : ' '} ${String(r.revision).padEnd(4)} ${r.createdAt}  ${r.contentHash.slice(0, 12)}  ${r.author}${quoted(r.message)}${note}\n`);
        }
        return;
      }
      case 'show': {
        const { live, revision: r } = await ops.show({ revision: revisionNumber(positionals[0], 'floors:show <revision>') });
        process.stdout.write(`revision ${r.revision}${live ? ' (live)' : ''} by ${r.author} at ${r.createdAt}${quoted(r.message)}\n`);
        process.stdout.write(`parent ${r.parent ?? 'none'}${r.rollbackOf === null ? '' : `, restores revision ${r.rollbackOf}`}${r.promotes === null ? '' : `, promotes candidate revision ${r.promotes}`}; sha256 ${r.contentHash}\n`);
        for (const name of Object.keys(r.files).sort()) process.stdout.write(`--- ${name}\n${r.files[name] as string}${(r.files[name] as string).endsWith('\n') ? '' : '\n'}`);
        return;
      }
      case 'diff': {
        const from = positionals[0] === undefined ? undefined : revisionNumber(positionals[0], 'floors:diff <from>');
        const to = positionals[1] === undefined ? undefined : revisionNumber(positionals[1], 'floors:diff <from> <to>');
        const result = await ops.diff({ ...(from === undefined ? {} : { from }), ...(to === undefined ? {} : { to }) });
        process.stdout.write(`revision ${result.from === 0 ? 'none' : result.from} → ${result.to}\n${formatLayoutsDiff(result.diff).join('\n')}\n`);
        return;
      }
      case 'audit': {
        const { entries } = await ops.audit({ limit });
        if (entries.length === 0) process.stdout.write('nothing audited yet\n');
        for (const e of entries) process.stdout.write(`${e.at}  ${e.actor}  ${e.action} → revision ${e.revision ?? '-'}  ${JSON.stringify(e.detail)}\n`);
        return;
      }
      case 'candidates': {
        const scene = positionals[0];
        const { candidates } = await ops.candidates();
        const listed = scene === undefined ? candidates : candidates.filter((c) => c.scene === scene);
        // A scene neither live nor a candidate defines is a mistake (a typo), refused as approve refuses it;
        // one live serves without a candidate is said so. Nothing published yet: nothing to judge it by.
        if (scene !== undefined && listed.length === 0) {
          const { live } = await ops.history({ limit: 1 });
          const liveScenes = live === null ? [] : Object.keys((await ops.show({ revision: live })).revision.files).map((name) => name.replace(/\.ya?ml$/, ''));
          const known = [...new Set([...liveScenes, ...candidates.map((c) => c.scene)])].sort();
          if (live !== null && !known.includes(scene)) throw new FloorplanError(ErrorCode.LAYOUT_UNKNOWN_SCENE, { known: known.map((s) => JSON.stringify(s)).join(', '), received: JSON.stringify(scene) });
        }
        if (candidates.length === 0 && scene === undefined) process.stdout.write('no scene has a candidate now: make one with npm run -s floors:candidate -- <scene> --replaces none\n');
        // A scene live serves, named without a candidate: the scenes that have one show.
        else if (listed.length === 0) process.stdout.write(`no candidate of ${scene as string} (${candidates.length === 0 ? 'no scene has one now' : `scenes with one: ${candidates.map((c) => c.scene).join(', ')}`})\n`);
        process.stdout.write(listed.map(candidateText).join('\n'));
        return;
      }
      case 'candidate': {
        const scene = sceneArgument(positionals[0], command);
        const source =
          values.revision === undefined
            ? { files: Object.fromEntries((sources as FloorsSource[]).map((f) => [f.name, f.source])), sources: sources as FloorsSource[] }
            : { revision: revisionNumber(values.revision, '--revision') };
        const result = await ops.candidate({ scene, ...source, rollout, ...replaces, ...(values.message === undefined ? {} : { message: values.message }), ...author });
        const r = result.revision;
        // An existing revision staged: its own author and message, then who staged it and why (the audit's).
        const staged = values.revision === undefined ? '' : `, staged by ${result.candidate.author}${quoted(result.candidate.message)}`;
        process.stdout.write(`candidate of ${scene}: revision ${r.revision} by ${r.author}${quoted(r.message)}${staged}${result.replaced === null ? '' : `; replaces the candidate revision ${result.replaced}`}\n`);
        process.stdout.write(`layoutVersion for its users: ${result.layoutVersion}\n`);
        printCandidate(result.candidate, result.pushed, result.pushProblem);
        printApproval(scene, result.approval);
        return;
      }
      case 'rollout': {
        const scene = sceneArgument(positionals[0], command);
        const result = await ops.rollout({ scene, ...reviewed, ...rollout, ...message });
        process.stdout.write(`candidate of ${scene}: revision ${result.candidate.revision}\n`);
        printCandidate(result.candidate, result.pushed, result.pushProblem);
        return;
      }
      case 'promote': {
        const scene = sceneArgument(positionals[0], command);
        const result = await ops.promote({ scene, ...reviewed, force: values.force === true, ...(values.message === undefined ? {} : { message: values.message }), ...author });
        const over = [
          ...(result.forced ? [forcedOver(result)] : []),
          ...((result.overtaken ?? []).length > 0 ? [`replacing live's changes since it was cut: ${result.overtaken.join('; ')}`] : []),
        ];
        printPublished(result, `promoted the candidate revision ${result.promotes}${over.length === 0 ? '' : ` (forced over ${over.join(', ')})`} as`);
        return;
      }
      case 'approve': {
        const scene = sceneArgument(positionals[0], command);
        const result = await ops.approve({ scene, ...reviewed, ...(values.message === undefined ? {} : { message: values.message }) });
        process.stdout.write(`approved the candidate of ${scene} (revision ${result.candidate.revision}, published by ${result.candidate.publishedBy}) as ${result.candidate.approvedBy ?? '?'}\n`);
        printApproval(scene, result.approval, '');
        return;
      }
      case 'abort': {
        const scene = sceneArgument(positionals[0], command);
        const result = await ops.abort({ scene, ...reviewed, ...(values.message === undefined ? {} : { message: values.message }) });
        process.stdout.write(`aborted the candidate of ${scene} (revision ${result.candidate.revision}): its users get the live layout\n`);
        process.stdout.write(result.pushed ? 'pushed to every replica through Redis\n' : `not pushed through Redis: ${result.pushProblem ?? 'unknown'}\n`);
        return;
      }
      case 'check':
      case 'schema':
        throw new Error('unreachable');
    }
  } catch (error) {
    if (error instanceof IncompatibleLayouts) throw new Incompatible(error.report);
    if (error instanceof FloorplanError && error.code === ErrorCode.LAYOUT_INVALID) {
      const problems = layoutProblems(error);
      // An existing revision's floors were valid when recorded: what is wrong is the scene named for it.
      if (command === 'candidate' && values.revision !== undefined) throw new UsageError(problems.join('\n') || error.message);
      throw new InvalidFloors(problems);
    }
    if (error instanceof FloorplanError) throw new UsageError(error.message);
    if (error instanceof OperationRefused) throw new UsageError(`${error.message}; nothing was changed`);
    throw error;
  } finally {
    await opened.close();
  }
}

const COMMANDS = ['check', 'publish', 'schema', 'history', 'show', 'diff', 'rollback', 'audit', 'candidates', 'candidate', 'rollout', 'promote', 'approve', 'abort'] as const;
type Command = (typeof COMMANDS)[number];
/** How many positionals each command takes, at most. */
const POSITIONALS: Readonly<Record<Command, number>> = { check: 0, publish: 0, schema: 0, history: 0, show: 1, diff: 2, rollback: 1, audit: 0, candidates: 1, candidate: 1, rollout: 1, promote: 1, approve: 1, abort: 1 };

const OPTIONS = {
  dir: { type: 'string' },
  message: { type: 'string' },
  author: { type: 'string' },
  limit: { type: 'string' },
  server: { type: 'string' },
  revision: { type: 'string' },
  from: { type: 'string' },
  replaces: { type: 'string' },
  allow: { type: 'string' },
  percentage: { type: 'string' },
  segments: { type: 'string' },
  platforms: { type: 'string' },
  'min-app-version': { type: 'string' },
  force: { type: 'boolean' },
} as const;
type ParsedArgs = ReturnType<typeof parseArgs<{ allowPositionals: true; options: typeof OPTIONS }>>;

async function main(): Promise<void> {
  let parsed: ParsedArgs;
  try {
    parsed = parseArgs({ allowPositionals: true, options: OPTIONS });
  } catch (error) {
    throw new UsageError(`${describeThrown(error)}\n${USAGE}`);
  }
  const [command, ...rest] = parsed.positionals;
  if (!(COMMANDS as readonly string[]).includes(command ?? '') || rest.length > POSITIONALS[command as Command]) throw new UsageError(USAGE);
  let config: ServiceConfig;
  try {
    // Through a server, ADMIN_TOKEN is the caller's own credential, and the server's operators
    // (ADMIN_OPERATORS, exported in a shell that also runs npm start) are not this command's:
    // read with them, the caller's token would be refused as one of theirs held twice.
    config = loadServiceConfig(parsed.values.server === undefined ? {} : { env: { ...process.env, ADMIN_OPERATORS: undefined } });
  } catch (error) {
    throw new UsageError(describeThrown(error));
  }
  if (command === 'schema') {
    writeFileSync(FLOORS_SCHEMA_FILE, floorsSchemaText(config.floors.locales));
    process.stdout.write(`wrote ${FLOORS_SCHEMA_FILE} (locales ${config.floors.locales.join(', ')})\n`);
    return;
  }
  let clients: ClientsConfig | undefined;
  try {
    clients = loadClientsConfig(resolve(config.floors.clientsFile), config.apps);
  } catch (error) {
    throw new UsageError(describeThrown(error));
  }
  const context: Context = {
    config,
    dir: resolve(parsed.values.dir ?? config.floors.dir),
    dirSetting: parsed.values.dir === undefined ? FLOORS_DIR_SETTING : '--dir',
    registry: createBuilderRegistry(defaultBuilders),
    clients,
  };
  if (parsed.values.from !== undefined && command !== 'publish' && command !== 'rollback') throw new UsageError(`--from is the live revision a publish or rollback was read against; floors:${command as string} takes none\n${USAGE}`);
  if (parsed.values.replaces !== undefined && command !== 'candidate') {
    // rollout, promote, approve and abort guard the candidate they act on with --revision instead.
    const instead = ['rollout', 'promote', 'approve', 'abort'].includes(command as string) ? ' (its --revision names the candidate it changes)' : '';
    throw new UsageError(`--replaces is the candidate revision a new candidate replaces; floors:${command as string} takes none${instead}\n${USAGE}`);
  }
  if (command === 'check') return check(context);
  if (command === 'publish' && config.layouts.store.kind === 'none' && parsed.values.server === undefined) {
    if (parsed.values.from !== undefined) throw new UsageError('--from compares with the revision store\'s live revision, but layouts.store.kind is none: there is none to compare with');
    return publishToRedisOnly(context);
  }
  if (config.layouts.store.kind === 'none' && parsed.values.server === undefined) {
    throw new UsageError(`floors:${command as string} needs the revision store, but layouts.store.kind is none: set LAYOUT_STORE=postgres and LAYOUT_STORE_URL, or pass --server <url> of a Floorplan that has one`);
  }
  await runOperation(command as Command, context, { ...parsed, positionals: rest });
}

ignoreClosedReader();
main().catch((error: unknown) => {
  if (error instanceof Incompatible) {
    process.stdout.write(compatibilityText(error.report, error.report.clientsFile));
    process.stderr.write(`${error.report.problems.map((p) => p.message).join('\n')}\n`);
    const published = process.argv.includes('check') ? '' : '; nothing was published';
    process.stderr.write(`floors are incompatible with live app versions (${error.report.clientsFile}): ${error.report.problems.length} problem(s)${published}\n`);
    process.exitCode = 1;
    return;
  }
  if (error instanceof InvalidFloors) {
    process.stderr.write(`${error.problems.join('\n')}\n`);
    const published = process.argv.includes('publish') ? '; nothing was published' : '';
    process.stderr.write(`floors are invalid: ${error.problems.length} problem(s)${published}\n`);
    process.exitCode = 1;
    return;
  }
  process.stderr.write(`${error instanceof UsageError ? error.message : String((error as Error).stack ?? error)}\n`);
  process.exitCode = 2;
});

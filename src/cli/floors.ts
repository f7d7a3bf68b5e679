/**
 * Operator tools for the floors layouts.
 *   npm run -s floors:check   [-- --dir <folder>]   validate every floors file
 *   npm run -s floors:publish [-- --dir <folder>]   validate, then publish to Redis (REDIS_URL)
 *                                                  for every running instance to swap in
 *   npm run -s floors:schema                        write schema/floors.schema.json (the JSON Schema
 *                                                  editors validate floors/*.yaml with) from the loader's schema
 * The folder defaults to config `floors.dir`. Problems go to stderr, one per line. With no Unleash
 * URL configured, every floor's `flag` must also be defined in the flags file (`flags.bootstrapFile`).
 * Exit codes: 0 valid (and published); 1 invalid floors files, nothing published;
 * 2 usage, config or Redis connection error.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadServiceConfig, type ServiceConfig } from '../config/service-config.ts';
import { ErrorCode, FloorplanError } from '../errors.ts';
import { parseFlagsFile } from '../flags/flags-file.ts';
import { defaultBuilders } from '../floors/builders/index.ts';
import { createBuilderRegistry, type BuilderRegistry } from '../floors/registry.ts';
import { unknownFlagProblems } from '../layouts/flag-names.ts';
import type { LayoutSet } from '../layouts/compile.ts';
import { compileFloorsSources, FLOORS_SCHEMA_FILE, floorsSchemaText, readFloorsDir } from '../layouts/compile.ts';
import { whenRedisReady } from '../layouts/layout-store.ts';
import { publishLayouts } from '../layouts/publish.ts';
import { createLogger } from '../observability/logger.ts';
import { closeRedis, openRedis } from '../redis/client.ts';

const USAGE = 'usage: npm run -s floors:check [-- --dir <folder>] | npm run -s floors:publish [-- --dir <folder>] | npm run -s floors:schema';
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

/** Exit 2: wrong arguments, config or Redis not reachable. */
class UsageError extends Error {}

interface Context {
  readonly config: ServiceConfig;
  readonly dir: string;
  readonly registry: BuilderRegistry;
}

function summary(layouts: LayoutSet): string {
  return [...layouts.values()].map((l) => `${l.scene}: version ${l.version}, ${l.floors.length} floor(s) (${l.file})`).join('\n');
}

/** Every problem of every file, or the compiled set. */
function validate({ config, dir, registry }: Context): LayoutSet {
  let sources;
  try {
    sources = readFloorsDir(dir);
  } catch (error) {
    if (error instanceof FloorplanError && error.code === ErrorCode.LAYOUT_INVALID) throw new InvalidFloors([error.message]);
    throw error;
  }
  const compiled = compileFloorsSources(sources, registry, config.floors.locales, config.apps);
  if (compiled.layouts === undefined) throw new InvalidFloors(compiled.problems);
  const flagProblems = checkFlagNames(config, compiled.layouts);
  if (flagProblems.length > 0) throw new InvalidFloors(flagProblems);
  return compiled.layouts;
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
    throw new UsageError(`cannot check the floors' flag names: with no Unleash URL configured they must be in ${shown}, but it ${error instanceof FloorplanError ? `is invalid:\n${error.message}` : `cannot be read: ${(error as Error).message}`}`);
  }
  return unknownFlagProblems(layouts, names, shown);
}

function check(context: Context): void {
  process.stdout.write(`${summary(validate(context))}\n`);
}

/** redis://:secret@host → redis://:***@host, for messages. */
function shownUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
  }
}

async function publish(context: Context): Promise<void> {
  const { config } = context;
  if (config.redis.url === '') {
    throw new UsageError('floors:publish needs Redis, but none is configured: set REDIS_URL (or redis.url in config/<env>.yaml) to the Redis every instance uses');
  }
  // Validate before connecting: a broken file is reported the same with or without Redis.
  validate(context);
  const url = shownUrl(config.redis.url);
  const redis = openRedis(
    { url: config.redis.url, commandTimeoutMs: PUBLISH_COMMAND_TIMEOUT_MS, connectTimeoutMs: config.redis.connectTimeoutMs, name: 'floors-publish' },
    createLogger('silent'),
  );
  try {
    const notReady = await whenRedisReady(redis, config.redis.connectTimeoutMs);
    if (notReady !== undefined) throw new UsageError(`cannot connect to Redis at ${url}: ${notReady.message}; nothing was published`);
    let result;
    try {
      result = await publishLayouts({ ...context, locales: config.floors.locales, apps: config.apps, redis, keyPrefix: config.redis.keyPrefix });
    } catch (error) {
      if (error instanceof FloorplanError && error.code === ErrorCode.LAYOUT_INVALID) throw new InvalidFloors([error.message]);
      throw new UsageError(`publishing to Redis at ${url} failed: ${(error as Error).message}; run floors:publish again`);
    }
    process.stdout.write(`published revision ${result.revision} to ${url} (key ${result.key})\n`);
    process.stdout.write(`${result.scenes.map((s) => `${s.scene}: version ${s.version}`).join('\n')}\n`);
  } finally {
    await closeRedis(redis);
  }
}

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({ allowPositionals: true, options: { dir: { type: 'string' } } });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n${USAGE}`);
  }
  const [command, ...rest] = parsed.positionals;
  if ((command !== 'check' && command !== 'publish' && command !== 'schema') || rest.length > 0) throw new UsageError(USAGE);
  let config: ServiceConfig;
  try {
    config = loadServiceConfig();
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (command === 'schema') {
    writeFileSync(FLOORS_SCHEMA_FILE, floorsSchemaText(config.floors.locales));
    process.stdout.write(`wrote ${FLOORS_SCHEMA_FILE} (locales ${config.floors.locales.join(', ')})\n`);
    return;
  }
  const context: Context = {
    config,
    dir: resolve(parsed.values.dir ?? config.floors.dir),
    registry: createBuilderRegistry(defaultBuilders),
  };
  if (command === 'check') check(context);
  else await publish(context);
}

main().catch((error: unknown) => {
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

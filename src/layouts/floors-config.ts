/**
 * floors/<scene>.yaml — what operators edit — read, validated and compiled in one place.
 *
 * A bad file is rejected with every problem as "`floors[3].sort` must be an integer, but
 * got: "top" (floors/cart-bottom-sheet.yaml:14)": unknown builders (with the known names),
 * duplicate codes, wrong types, unknown template variables (with the builder's variables),
 * missing locales. The result is a deep-frozen {@link CompiledLayout} per scene.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { z } from 'zod';
import { deepFreeze } from '../config/service-config.ts';
import { LocatedYaml, type YamlProblem } from '../config/validate-yaml.ts';
import { ErrorCode, FloorplanError } from '../errors.ts';
import type { FloorBuilder } from '../floors/builder.ts';
import type { BuilderRegistry } from '../floors/registry.ts';
import { compileTemplate, type CompiledTemplate } from './template.ts';

/** A floor as operators configure it, compiled for rendering. */
export interface CompiledFloor {
  /** The code clients key on, e.g. `coupon`; unique within a scene. */
  readonly code: string;
  readonly builder: FloorBuilder;
  /** Display name per configured locale. */
  readonly name: Readonly<Record<string, string>>;
  /** Sub-name template per locale; absent when the floor has none. */
  readonly subName: Readonly<Record<string, CompiledTemplate>> | undefined;
  /** Text shown instead of a zero amount (e.g. 免运费), per locale. */
  readonly zeroText: Readonly<Record<string, string>> | undefined;
  readonly style: readonly string[];
  readonly sort: number;
  /** false: configured but never rendered (the simplest kill switch). */
  readonly enabled: boolean;
  /** true: left out when its amount is exactly zero (e.g. no coupon applied). */
  readonly hideWhenZero: boolean;
  /** 1-based line in the file, for operator tools and logs. */
  readonly line: number | undefined;
}

/** One scene's layout: its floors in render order. */
export interface CompiledLayout {
  readonly scene: string;
  /** The file's `version`, or `sha-<12 hex>` of its content when it declares none. */
  readonly version: string;
  /** Path relative to the working directory, for messages. */
  readonly file: string;
  /** Sorted by `sort`, ties in file order. */
  readonly floors: readonly CompiledFloor[];
}

const CODE = /^[a-z][a-z0-9_-]*$/;

function floorsFileSchema(locales: readonly string[]) {
  const perLocale = <T extends z.ZodType>(value: T) =>
    z.strictObject(Object.fromEntries(locales.map((l) => [l, value])) as Record<string, T>);
  const floor = z.strictObject({
    code: z.string().regex(CODE, 'must be a lower-case code such as "plus95"'),
    builder: z.string().min(1),
    name: perLocale(z.string().min(1)),
    subName: perLocale(z.string()).optional(),
    zeroText: perLocale(z.string()).optional(),
    style: z.array(z.string().regex(/^[a-z][a-z0-9-]*$/, 'must be lower-case style tokens such as "bold"')).default([]),
    sort: z.number().int(),
    enabled: z.boolean().default(true),
    hideWhenZero: z.boolean().default(false),
  });
  return z.strictObject({
    scene: z.string().regex(CODE, 'must be a lower-case scene name such as "cart-bottom-sheet"'),
    version: z.union([z.string().min(1), z.number()]).optional(),
    floors: z.array(floor).min(1),
  });
}

/** Validates and compiles one floors file; problems are returned, not thrown. */
export function compileFloorsFile(
  file: string,
  source: string,
  registry: BuilderRegistry,
  locales: readonly string[],
): { layout: CompiledLayout; problems: [] } | { layout: undefined; problems: YamlProblem[] } {
  const yaml = new LocatedYaml(file, source);
  const result = yaml.validate(floorsFileSchema(locales));
  if (!result.ok) return { layout: undefined, problems: result.problems };
  const config = result.value;
  const problems: YamlProblem[] = [];

  const expectedScene = basename(file).replace(/\.ya?ml$/, '');
  if (config.scene !== expectedScene) {
    problems.push(yaml.problem(['scene'], `must match the file name "${expectedScene}"`, config.scene));
  }

  const firstLineOfCode = new Map<string, number | undefined>();
  const floors: CompiledFloor[] = [];
  config.floors.forEach((floor, index) => {
    const at = (...path: PropertyKey[]) => ['floors', index, ...path];
    const seen = firstLineOfCode.get(floor.code);
    if (firstLineOfCode.has(floor.code)) {
      problems.push(yaml.problem(at('code'), `must be unique in the scene; it is already used at line ${String(seen)}`, floor.code));
    } else {
      firstLineOfCode.set(floor.code, yaml.lineOf(at('code')));
    }

    const builder = registry.get(floor.builder);
    if (builder === undefined) {
      problems.push(yaml.problem(at('builder'), `must name a known builder (${registry.names.join(', ')})`, floor.builder));
      return;
    }

    let subName: Record<string, CompiledTemplate> | undefined;
    if (floor.subName !== undefined) {
      subName = {};
      for (const [locale, source] of Object.entries(floor.subName)) {
        try {
          const template = compileTemplate(source);
          const unknown = template.variables.filter((v) => !builder.templateVars.includes(v));
          if (unknown.length > 0) {
            const known = builder.templateVars.length > 0 ? builder.templateVars.map((v) => `{${v}}`).join(', ') : 'none';
            problems.push(
              yaml.problem(
                at('subName', locale),
                `may only use the variables of builder "${builder.name}" (${known})`,
                unknown.map((v) => `{${v}}`).join(', '),
              ),
            );
          }
          subName[locale] = template;
        } catch (error) {
          problems.push(yaml.problem(at('subName', locale), (error as Error).message.replace(/^has/, 'must be a valid template; it has'), source));
        }
      }
    }

    floors.push({
      code: floor.code,
      builder,
      name: floor.name,
      subName,
      zeroText: floor.zeroText,
      style: floor.style,
      sort: floor.sort,
      enabled: floor.enabled,
      hideWhenZero: floor.hideWhenZero,
      line: yaml.lineOf(at()),
    });
  });

  if (problems.length > 0) return { layout: undefined, problems };
  const ordered = floors.map((f, i) => ({ f, i })).sort((a, b) => a.f.sort - b.f.sort || a.i - b.i).map(({ f }) => f);
  const version = config.version !== undefined ? String(config.version) : `sha-${sha12(source)}`;
  // Builders are already frozen by the registry, so deepFreeze stops at them.
  return { layout: deepFreeze({ scene: config.scene, version, file, floors: ordered }), problems: [] };
}

function sha12(source: string): string {
  return createHash('sha256').update(source).digest('hex').slice(0, 12);
}

/** All scenes' layouts, by scene name. */
export type LayoutSet = ReadonlyMap<string, CompiledLayout>;

/**
 * Reads and compiles every `*.yaml` in `dir`. Throws FLOORPLAN_ERR_LAYOUT_INVALID listing every
 * problem in every file, so an operator fixes them in one pass.
 */
export function loadFloorsDir(dir: string, registry: BuilderRegistry, locales: readonly string[]): LayoutSet {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => /\.ya?ml$/.test(n)).sort();
  } catch (error) {
    throw new FloorplanError(ErrorCode.LAYOUT_INVALID, `floors folder ${dir} cannot be read: ${(error as Error).message}`);
  }
  if (names.length === 0) {
    throw new FloorplanError(ErrorCode.LAYOUT_INVALID, `floors folder ${dir} must hold at least one <scene>.yaml, but has none`);
  }
  const layouts = new Map<string, CompiledLayout>();
  const problems: string[] = [];
  for (const name of names) {
    const path = join(dir, name);
    const file = relative(process.cwd(), path) || path;
    const result = compileFloorsFile(file, readFileSync(path, 'utf8'), registry, locales);
    if (result.layout === undefined) problems.push(...result.problems.map((p) => p.message));
    else layouts.set(result.layout.scene, result.layout);
  }
  if (problems.length > 0) {
    throw new FloorplanError(ErrorCode.LAYOUT_INVALID, `Invalid floors config:\n- ${problems.join('\n- ')}`);
  }
  return layouts;
}

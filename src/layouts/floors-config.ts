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
import { basename, isAbsolute, join, relative } from 'node:path';
import { z } from 'zod';
import { deepFreeze } from '../config/service-config.ts';
import { integer, LocatedYaml, type YamlProblem } from '../config/validate-yaml.ts';
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
    sort: integer(),
    enabled: z.boolean().default(true),
    hideWhenZero: z.boolean().default(false),
  });
  return z.strictObject({
    scene: z.string().regex(CODE, 'must be a lower-case scene name such as "cart-bottom-sheet"'),
    version: z.union([z.string().min(1), z.number()]).optional(),
    floors: z.array(floor).min(1, 'must list at least one floor'),
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
  const syntax = yaml.syntaxProblems();
  if (syntax.length > 0) return { layout: undefined, problems: syntax };
  const result = yaml.validate(floorsFileSchema(locales));
  const problems: YamlProblem[] = result.ok ? [] : [...result.problems];

  // Names and templates are checked on the raw document, not only once the types are right,
  // so a wrong `sort` and an unknown builder elsewhere are reported in the same pass.
  const raw = asRecord(yaml.toJS());
  const expectedScene = basename(file).replace(/\.ya?ml$/, '');
  if (typeof raw?.scene === 'string' && raw.scene !== expectedScene) {
    problems.push(yaml.problem(['scene'], `must match the file name "${expectedScene}"`, raw.scene));
  }

  const firstLineOfCode = new Map<string, number | undefined>();
  const builders: Array<FloorBuilder | undefined> = [];
  const subNames: Array<Record<string, CompiledTemplate> | undefined> = [];
  const rawFloors = Array.isArray(raw?.floors) ? (raw.floors as unknown[]) : [];
  rawFloors.forEach((value, index) => {
    const floor = asRecord(value);
    if (floor === undefined) return;
    const at = (...path: PropertyKey[]) => ['floors', index, ...path];
    if (typeof floor.code === 'string') {
      if (firstLineOfCode.has(floor.code)) {
        const first = firstLineOfCode.get(floor.code);
        problems.push(yaml.problem(at('code'), `must be unique in the scene; it is already used at line ${String(first)}`, floor.code));
      } else {
        firstLineOfCode.set(floor.code, yaml.lineOf(at('code')));
      }
    }

    if (typeof floor.builder !== 'string' || floor.builder === '') return;
    const builder = registry.get(floor.builder);
    builders[index] = builder;
    if (builder === undefined) {
      problems.push(yaml.problem(at('builder'), `must name a known builder (${registry.names.join(', ')})`, floor.builder));
      return;
    }

    const rawSubName = asRecord(floor.subName);
    if (rawSubName === undefined) return;
    const subName: Record<string, CompiledTemplate> = {};
    subNames[index] = subName;
    for (const [locale, template] of Object.entries(rawSubName)) {
      if (typeof template !== 'string' || !locales.includes(locale)) continue;
      try {
        const compiled = compileTemplate(template);
        const unknown = compiled.variables.filter((v) => !builder.templateVars.includes(v));
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
        subName[locale] = compiled;
      } catch (error) {
        problems.push(yaml.problem(at('subName', locale), (error as Error).message.replace(/^has/, 'must be a valid template; it has'), template));
      }
    }
  });

  if (!result.ok || problems.length > 0) return { layout: undefined, problems: byLine(problems) };
  const config = result.value;
  const floors: CompiledFloor[] = config.floors.map((floor, index) => ({
    code: floor.code,
    // Every floor passed the checks above, so its builder was found.
    builder: builders[index] as FloorBuilder,
    name: floor.name,
    subName: floor.subName === undefined ? undefined : subNames[index],
    zeroText: floor.zeroText,
    style: floor.style,
    sort: floor.sort,
    enabled: floor.enabled,
    hideWhenZero: floor.hideWhenZero,
    line: yaml.lineOf(['floors', index]),
  }));
  const ordered = floors.map((f, i) => ({ f, i })).sort((a, b) => a.f.sort - b.f.sort || a.i - b.i).map(({ f }) => f);
  const version = config.version !== undefined ? String(config.version) : `sha-${sha12(source)}`;
  // Builders are already frozen by the registry, so deepFreeze stops at them.
  return { layout: deepFreeze({ scene: config.scene, version, file, floors: ordered }), problems: [] };
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** Problems in file order, so an operator can fix them top to bottom; a stable sort keeps ties in check order. */
function byLine(problems: YamlProblem[]): YamlProblem[] {
  return [...problems].sort((a, b) => (a.line ?? Number.MAX_SAFE_INTEGER) - (b.line ?? Number.MAX_SAFE_INTEGER));
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
    const rel = relative(process.cwd(), path);
    // Relative when inside the working directory (floors/x.yaml), absolute otherwise, never ../../tmp/x.yaml.
    const file = rel === '' || rel.startsWith('..') || isAbsolute(rel) ? path : rel;
    const result = compileFloorsFile(file, readFileSync(path, 'utf8'), registry, locales);
    if (result.layout === undefined) {
      problems.push(...result.problems.map((p) => p.message));
      continue;
    }
    // cart.yaml and cart.yml would both claim scene "cart"; never let one silently replace the other.
    const other = layouts.get(result.layout.scene);
    if (other !== undefined) {
      problems.push(`\`scene\` must be unique in the floors folder; ${other.file} already defines it, but got: "${result.layout.scene}" (${file})`);
      continue;
    }
    layouts.set(result.layout.scene, result.layout);
  }
  if (problems.length > 0) {
    throw new FloorplanError(ErrorCode.LAYOUT_INVALID, `Invalid floors config:\n- ${problems.join('\n- ')}`);
  }
  return layouts;
}

/**
 * POST /admin/flags — every flag the live layouts name (a floor's `flag`, a scene's
 * `layoutFlag`), as Floorplan sees it right now: where the flags come from (Unleash or the local
 * file), how long ago they were last confirmed current there, and per flag whether it is on in
 * this environment and its strategies with their constraints, rollout, stickiness and variants,
 * and the parent flags it depends on — the console's "flags at a glance". With Unleash, each flag links to its page in Unleash's UI.
 */
import type { EnhancedFeatureInterface } from 'unleash-client/lib/feature.js';
import { ignoresCase } from '../flags/explain.ts';
import type { FlagsConfig, FlagService } from '../flags/flag-service.ts';
import type { AdminHandler } from '../http/server.ts';
import type { CompiledFloor, LayoutSet } from '../layouts/compile.ts';

/** What the overview reads. */
export interface FlagsOverviewDeps {
  /** The flags being served, their source and the age of their last sync. */
  readonly flags: Pick<FlagService, 'definition' | 'mode' | 'servingFrom' | 'fetchAgeSeconds' | 'file'>;
  /** Where Unleash's UI is, for the links, and the environment shown. */
  readonly config: Pick<FlagsConfig, 'unleashUrl' | 'unleashUiUrl' | 'environment'>;
  /** The live layouts: which flags they name, and where. */
  readonly layouts: () => LayoutSet;
}

/** Where one flag is named: a floor of a scene (or of one of its variants), or the scene's layout flag (floor null). */
interface FlagUse {
  readonly scene: string;
  readonly variant: string | null;
  readonly floor: string | null;
}

interface StrategyView {
  readonly name: string;
  readonly parameters: Readonly<Record<string, unknown>>;
  /** "segment IN [plus]", "appVersion SEMVER_GT 12.0.0", … — the strategy's own, then its segments'. */
  readonly constraints: readonly string[];
  readonly disabled: boolean;
  /** The strategy's own variants with their share, "compact 50 %": Unleash 7 splits a layout this way (environment variants are deprecated there). */
  readonly variants: readonly string[];
}

/**
 * Unleash's UI page of a project, from the config; undefined in local mode without an explicit
 * URL. Derived from the API URL, it drops that URL's user and password: they are this server's,
 * and the console would show them to every operator.
 */
export function unleashProjectUrl(config: Pick<FlagsConfig, 'unleashUrl' | 'unleashUiUrl'>): string | undefined {
  if (config.unleashUiUrl !== '') return config.unleashUiUrl.replace(/\/+$/, '');
  if (config.unleashUrl === '') return undefined;
  const api = new URL(config.unleashUrl);
  api.username = '';
  api.password = '';
  return `${api.toString().replace(/\/+$/, '').replace(/\/api$/, '')}/projects/default`;
}

function usesOf(layouts: LayoutSet): Map<string, FlagUse[]> {
  const uses = new Map<string, FlagUse[]>();
  const add = (flag: string, use: FlagUse) => uses.set(flag, [...(uses.get(flag) ?? []), use]);
  for (const layout of layouts.values()) {
    if (layout.layoutFlag !== undefined) add(layout.layoutFlag, { scene: layout.scene, variant: null, floor: null });
    const versions: Array<[string | null, readonly CompiledFloor[]]> = [[null, layout.floors], ...Object.entries(layout.variants).map(([name, v]) => [name, v.floors] as [string, readonly CompiledFloor[]])];
    for (const [variant, floors] of versions) {
      for (const floor of floors) if (floor.flag !== undefined) add(floor.flag, { scene: layout.scene, variant, floor: floor.code });
    }
  }
  return uses;
}

function constraintText(c: { contextName: string; operator: string; inverted?: boolean; values?: string[]; value?: string | number | Date; caseInsensitive?: boolean }): string {
  const list = Array.isArray(c.values) && c.values.length > 0 ? `[${c.values.join(', ')}]` : String(c.value ?? '');
  return `${c.contextName} ${c.inverted === true ? 'NOT ' : ''}${c.operator} ${list}${ignoresCase(c) ? ' (case-insensitive)' : ''}`;
}

/** "compact 50 %", "compact 0.5 %": a variant and its share of the users (Unleash weighs them out of 1000). */
function variantText(v: { name: string; weight?: number }): string {
  return `${v.name} ${(v.weight ?? 0) / 10} %`;
}

function strategiesOf(feature: EnhancedFeatureInterface): StrategyView[] {
  return (feature.strategies ?? []).map((s) => ({
    name: s.name,
    parameters: s.parameters ?? {},
    constraints: [...(s.constraints ?? []), ...(s.segments ?? []).flatMap((segment) => segment?.constraints ?? [])].map(constraintText),
    disabled: (s as { disabled?: boolean }).disabled === true,
    variants: (s.variants ?? []).map(variantText),
  }));
}

/**
 * The parent flags `feature` depends on, as Unleash evaluates them before the flag itself:
 * "floorplan.kill.cart enabled", "layout.x variants [compact]", "floor.y disabled"; and, when
 * a parent it needs enabled is off in this environment (or not defined), that nobody gets it —
 * whatever its own state and strategies say.
 */
function dependenciesOf(feature: EnhancedFeatureInterface, definition: (flag: string) => EnhancedFeatureInterface | undefined): { dependsOn: string[]; blockedBy: string | null } {
  const dependencies = feature.dependencies ?? [];
  const dependsOn = dependencies.map((d) => `${d.feature} ${d.enabled === false ? 'disabled' : d.variants !== undefined && d.variants.length > 0 ? `variants [${d.variants.join(', ')}]` : 'enabled'}`);
  const off = dependencies.find((d) => d.enabled !== false && definition(d.feature)?.enabled !== true);
  return { dependsOn, blockedBy: off === undefined ? null : `${off.feature} is ${definition(off.feature) === undefined ? 'not defined' : 'off'}: nobody gets this flag` };
}

/** The POST /admin/flags handler. */
export function createFlagsOverviewHandler(deps: FlagsOverviewDeps): AdminHandler {
  return async () => {
    const project = unleashProjectUrl(deps.config);
    const uses = usesOf(deps.layouts());
    const flags = [...uses.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([flag, usedBy]) => {
        const feature = deps.flags.definition(flag);
        return {
          flag,
          usedBy,
          defined: feature !== undefined,
          enabled: feature?.enabled === true,
          strategies: feature === undefined ? [] : strategiesOf(feature),
          variants: (feature?.variants ?? []).map(variantText),
          ...(feature === undefined ? { dependsOn: [], blockedBy: null } : dependenciesOf(feature, (name) => deps.flags.definition(name))),
          link: project === undefined ? null : `${project}/features/${encodeURIComponent(flag)}`,
        };
      });
    return {
      status: 200,
      body: {
        mode: deps.flags.mode,
        servingFrom: deps.flags.servingFrom,
        file: deps.flags.file,
        environment: deps.config.environment,
        lastSyncAgeSeconds: Math.round(deps.flags.fetchAgeSeconds() * 10) / 10,
        unleashUrl: project ?? null,
        flags,
      },
    };
  };
}

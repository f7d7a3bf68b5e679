/**
 * Local mode: a flags-file edit that removes a flag a floor still names is refused (README,
 * "Flags"). A layout candidate's floors count too: removing the flag its floor is behind would
 * otherwise drop that floor from the candidate's users silently, refuse its promote later, and
 * have a restarted replica refuse the candidate.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.ts';
import { eventually } from '../support/measure.ts';
import { postLayoutAdmin } from '../support/layout-admin.ts';
import { loggerInto } from '../support/log-lines.ts';

const ORIGINAL_FLAGS = readFileSync('config/flags.json', 'utf8');
const CART = readFileSync(join('floors', 'cart-bottom-sheet.yaml'), 'utf8');
const CHECKOUT = readFileSync(join('floors', 'checkout-summary.yaml'), 'utf8');
const SCENE = 'cart-bottom-sheet';
/** A flag only the candidate names: its PLUS rebate row behind it instead of floor.plus-rebate. */
const NEW_FLAG = 'floor.rebate-canary';
const CANDIDATE = CART.replace('flag: floor.plus-rebate', `flag: ${NEW_FLAG}`).replace('version: "2026-11-21.1"', 'version: "2026-12-06.canary"');

interface FlagsFile {
  features: Array<Record<string, unknown>>;
  featureStrategies: Array<Record<string, unknown>>;
  featureEnvironments: Array<Record<string, unknown>>;
}

/** The shipped flags, with {@link NEW_FLAG} defined (on) or not, and `also` defined (on). */
function flagsText(withNewFlag: boolean, also?: string): string {
  const flags = JSON.parse(ORIGINAL_FLAGS) as FlagsFile;
  for (const name of [...(withNewFlag ? [NEW_FLAG] : []), ...(also === undefined ? [] : [also])]) {
    flags.features.push({ name, type: 'release', description: 'The rebate row, for the candidate.', project: 'default', impressionData: false });
    flags.featureStrategies.push({ name: 'default', featureName: name, sortOrder: 0, parameters: {}, constraints: [], segments: [] });
    flags.featureEnvironments.push({ name, featureName: name, environment: 'development', enabled: true, variants: [] });
  }
  return JSON.stringify(flags, null, 2);
}

/** The 1-based line of `source` that holds `text`. */
const lineOf = (source: string, text: string) => source.split('\n').findIndex((l) => l.includes(text)) + 1;

describe('a flags-file edit against the floors of a layout candidate', () => {
  let h: Harness;
  let dir: string;
  let flagsFile: string;
  const logLines: Array<Record<string, unknown>> = [];

  const admin = (operation: string, body: unknown) => postLayoutAdmin(h.url, h.config.admin.token, operation, body);
  const rowCodes = async (userId: string) => {
    const res = await h.graphql<{ floorPanel: { layoutVersion: string; floors: Array<{ code: string }> } }>(userId, `{ floorPanel(scene: "${SCENE}") { layoutVersion floors { code } } }`);
    const panel = res.body.data!.floorPanel;
    return { layoutVersion: panel.layoutVersion, codes: panel.floors.map((f) => f.code) };
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'floorplan-flags-candidates-'));
    flagsFile = join(dir, 'flags.json');
    writeFileSync(flagsFile, flagsText(true));
    h = await startHarness({
      config: { flags: { bootstrapFile: flagsFile }, layouts: { store: { kind: 'pglite', dataDir: join(dir, 'revisions') } } },
      deps: { logger: loggerInto(logLines, 'info') },
    });
    expect((await admin('publish', { files: { 'cart-bottom-sheet.yaml': CART, 'checkout-summary.yaml': CHECKOUT }, message: 'baseline' })).status).toBe(200);
    const candidate = await admin('candidate', { scene: SCENE, files: { 'cart-bottom-sheet.yaml': CANDIDATE, 'checkout-summary.yaml': CHECKOUT }, rollout: { allowList: ['u1001'] } });
    expect(candidate.status).toBe(200);
  }, 60_000);

  afterAll(async () => {
    await h?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('refuses to remove a flag only a candidate names, naming the candidate, and keeps serving its floor', async () => {
    const canary = await eventually(() => rowCodes('u1001'), (p) => p.layoutVersion.startsWith('2026-12-06.canary'));
    expect(canary.layoutVersion).toBe('2026-12-06.canary+candidate.r2');
    expect(canary.codes).toContain('plus-rebate');

    writeFileSync(flagsFile, flagsText(false));
    const refused = () => logLines.find((l) => JSON.stringify(l).includes(`\`${NEW_FLAG}\` must stay defined`));
    expect(await eventually(async () => refused(), (l) => l !== undefined)).toBeDefined();
    expect(JSON.stringify(refused())).toContain(`the candidate of ${SCENE} (revision 2) names it`);
    // Where in the candidate's own file, not in the folder's, which may hold anything on that line.
    expect(JSON.stringify(refused())).toContain(`(revision 2's cart-bottom-sheet.yaml:${lineOf(CANDIDATE, `flag: ${NEW_FLAG}`)})`);
    expect(h.server.flags.flagNames()).toContain(NEW_FLAG);
    expect((await rowCodes('u1001')).codes).toContain('plus-rebate');
    // Once the candidate is gone, the flag may go.
    expect((await admin('abort', { scene: SCENE })).status).toBe(200);
    writeFileSync(flagsFile, `${flagsText(false)}\n`);
    expect(await eventually(async () => h.server.flags.flagNames(), (names) => !names.includes(NEW_FLAG))).not.toContain(NEW_FLAG);
  });

  it("names the live revision's file and line for a flag it names, not the floors folder's", async () => {
    // Live (revision 3) names floor.member-extra on a line where the folder's file has something else.
    const live = CART.replace('flag: floor.plus-rebate', 'flag: floor.member-extra');
    const extra = lineOf(live, 'flag: floor.member-extra');
    expect(readFileSync(join('floors', 'cart-bottom-sheet.yaml'), 'utf8').split('\n')[extra - 1]).not.toContain('floor.member-extra');
    writeFileSync(flagsFile, flagsText(false, 'floor.member-extra'));
    await eventually(async () => h.server.flags.flagNames(), (names) => names.includes('floor.member-extra'));
    const published = await admin('publish', { files: { 'cart-bottom-sheet.yaml': live, 'checkout-summary.yaml': CHECKOUT }, message: 'member extra' });
    expect(published.status, JSON.stringify(published.body)).toBe(200);

    writeFileSync(flagsFile, flagsText(false));
    const refused = () => logLines.find((l) => JSON.stringify(l).includes('`floor.member-extra` must stay defined'));
    expect(await eventually(async () => refused(), (l) => l !== undefined)).toBeDefined();
    const said = JSON.stringify(refused());
    expect(said).toContain(`this change removes it (live revision 3's cart-bottom-sheet.yaml:${extra})`);
    expect(said).not.toContain('floors/cart-bottom-sheet.yaml');
    expect(h.server.flags.flagNames()).toContain('floor.member-extra');
  });
});

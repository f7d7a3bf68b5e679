import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadServiceConfig } from '../../src/config/service-config.ts';
import { defaultBuilders } from '../../src/floors/builders/index.ts';
import { createBuilderRegistry } from '../../src/floors/registry.ts';
import { loadFloorsDir } from '../../src/layouts/compile.ts';
import { candidatesRedisKey } from '../../src/layouts/revisions/candidates.ts';
import { HAS_REDIS_SERVER, startPrivateRedis, type PrivateRedis } from '../support/redis-server.ts';
import { startHarness, type Harness } from '../support/harness.ts';
import { freePort, runFloorsCli, type CliRun } from '../support/processes.ts';
import { TWO_ADDRESS_HOST, twoAddressPreload } from '../support/two-address-host.ts';
import { eventually } from '../support/measure.ts';
import { postLayoutAdmin } from '../support/layout-admin.ts';
import { createTestDatabase, HAS_POSTGRES, type TestDatabase } from '../support/postgres.ts';
import { RevisionStore } from '../../src/layouts/revisions/revision-store.ts';
import { createLogger } from '../../src/observability/logger.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const registry = createBuilderRegistry(defaultBuilders);
/** The shipped scenes, as the tool should summarise them. */
const SHIPPED = [...loadFloorsDir(join(ROOT, 'floors'), registry, loadServiceConfig({ dir: join(ROOT, 'config'), env: {} }).floors.locales).values()];

/** Runs `node --import tsx src/cli/floors.ts ...args` from the project root, as the npm scripts do. */
function floors(args: readonly string[], env: Record<string, string> = {}): Promise<CliRun> {
  // Only what the tool should see: no REDIS_URL, FLOORS_DIR or FLOORPLAN_ENV leaking in from the test run.
  const { REDIS_URL: _r, FLOORS_DIR: _f, FLOORPLAN_ENV: _e, NODE_ENV: _n, VITEST: _v, ...inherited } = process.env;
  // No revision store unless a test names one (Redis-only publishing, as before revisions):
  // the default PGlite folder is the working directory's, shared by every test file.
  return runFloorsCli(args, { ...inherited, LAYOUT_STORE: 'none', ...env });
}

const dirs: string[] = [];
function floorsDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'floorplan-cli-'));
  dirs.push(dir);
  for (const [name, source] of Object.entries(files)) writeFileSync(join(dir, name), source);
  return dir;
}

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A cart sheet whose line 6 sorts by a word, line 7 names a builder that does not exist. */
const BROKEN_CART = [
  'scene: cart-bottom-sheet', // 1
  'floors:', // 2
  '  - code: spze', // 3
  '    builder: spze', // 4
  '    name: { zh-CN: 商品总额, en: Goods total }', // 5
  '    sort: top', // 6
  '  - code: payable', // 7
  '    builder: pay', // 8
  '    name: { zh-CN: 实付款, en: To pay }', // 9
  '    sort: 90', // 10
  '',
].join('\n');

describe('npm run floors:check', () => {
  it('passes the shipped floors folder, one line per scene with its version, then what every live app version would get', async () => {
    const run = await floors(['check']);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(SHIPPED.map((l) => l.scene)).toEqual(['cart-bottom-sheet', 'checkout-summary']);
    const [scenes, matrix] = run.stdout.trim().split('\n\n') as [string, string];
    expect(scenes.split('\n')).toEqual(SHIPPED.map((l) => `${l.scene}: version ${l.version}, ${l.floors.length} floor(s) (floors/${l.scene}.yaml)`));
    const lines = matrix.split('\n');
    expect(lines.slice(0, 2)).toEqual([
      'compatibility with the 7 supported live app version(s) in config/clients.yaml (flagged floors count as sent; disabled ones do not):',
      '           platform  version  scene                        what it would get',
    ]);
    // The oldest live iOS is below the oldest supported one: listed once, not checked.
    expect(lines[2]).toBe("unchecked  ios       10.8.2   (every scene)                nothing checked: below ios's oldest supported 11.0.0");
    expect(lines).toContain(
      'ok         ios       11.6.1   cart-bottom-sheet            10 floor(s); styles bold, muted, emphasis→bold; fields subName, zeroText; kinds GOODS, DEDUCTION, CHARGE, PAYABLE, INFO, TEXT',
    );
    expect(lines).toContain(
      'ok         android   12.1.0   checkout-summary             9 floor(s); styles muted, bold, emphasis; fields subName, zeroText; kinds GOODS, DEDUCTION, CHARGE, PAYABLE, TEXT',
    );
    // 7 checked versions × 3 scenes and variants, plus the unchecked one.
    expect(lines.slice(2).filter((l) => l.startsWith('ok '))).toHaveLength(21);
  });

  it('says the compatibility check was skipped when there is no clients file', async () => {
    const run = await floors(['check'], { FLOORS_CLIENTS_FILE: join(tmpdir(), 'floorplan-no-such-clients.yaml') });
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout.trim().split('\n').at(-1)).toBe(
      `compatibility: not checked, there is no clients file at ${join(tmpdir(), 'floorplan-no-such-clients.yaml')} (config floors.clientsFile)`,
    );
  });

  it('exits 2 on a bad clients file, naming its file:line', async () => {
    const dir = floorsDir({ 'clients.yaml': 'platforms:\n  ios:\n    oldestSupported: "11"\n    live: ["11.0.0"]\nunderstands: {}\n' });
    const run = await floors(['check'], { FLOORS_CLIENTS_FILE: join(dir, 'clients.yaml') });
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(`Invalid clients config:\n- \`platforms.ios.oldestSupported\` must be a semantic version such as "12.3.0", but got: "11" (${join(dir, 'clients.yaml')}:3)\n`);
  });

  it('exits 1 on a broken folder, printing every problem with its file:line, one per line', async () => {
    const dir = floorsDir({ 'cart-bottom-sheet.yaml': BROKEN_CART });
    const file = join(dir, 'cart-bottom-sheet.yaml');
    const run = await floors(['check', '--dir', dir]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr.split('\n')).toEqual([
      `\`floors[0].sort\` must be an integer, but got: "top" (${file}:6)`,
      `\`floors[1].builder\` must name a known builder (${registry.names.join(', ')}), but got: "pay" (${file}:8)`,
      'floors are invalid: 2 problem(s)',
      '',
    ]);
  });

  it('exits 1 on a floors file whose YAML aliases would repeat too much, with its file:line, as on any invalid file', async () => {
    const levels = 'abcdefghij';
    const lines = [`a: &a [${Array(9).fill('"lol"').join(',')}]`, ...[...levels.slice(1)].map((name, i) => `${name}: &${name} [${Array(9).fill(`*${levels[i]}`).join(',')}]`)];
    const dir = floorsDir({ 'cart-bottom-sheet.yaml': ['scene: cart-bottom-sheet', 'x:', ...lines.map((l) => `  ${l}`), ''].join('\n') });
    const run = await floors(['check', '--dir', dir]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr.split('\n')).toEqual([
      `the file may repeat at most 1000 values through YAML aliases (*name), but got: 1729 by this alias, *c (${join(dir, 'cart-bottom-sheet.yaml')}:6)`,
      'floors are invalid: 1 problem(s)',
      '',
    ]);
  });

  it('exits 1 on a style token a supported app does not know, with its file:line (the checkout summary before issue 11 item 10)', async () => {
    const shipped = readFileSync(join(ROOT, 'floors', 'checkout-summary.yaml'), 'utf8');
    const withoutRules = shipped.replace(/(?:#[^\n]*\n)*styles:\n(?: {2}[^\n]*\n)+/, '');
    expect(withoutRules).not.toBe(shipped);
    const dir = floorsDir({ 'checkout-summary.yaml': withoutRules });
    const line = withoutRules.split('\n').findIndex((l) => l.includes('style: [bold, emphasis]')) + 1;
    const run = await floors(['check', '--dir', dir]);
    expect(run.code).toBe(1);
    expect(run.stderr.split('\n')).toEqual([
      '`floors[7].style[1]` must be known to every supported app that gets it, or have a rule under `styles` whose fallback they know ' +
        '(config `apps`: bold, muted for every app; emphasis from 12.0.0); apps that send no x-app-version, ios 11.0.0, android 11.0.0 ' +
        `and other platforms 11.0.0 would get it without knowing it, but got: "emphasis" (${join(dir, 'checkout-summary.yaml')}:${line})`,
      'floors are invalid: 1 problem(s)',
      '',
    ]);
  });

  it('exits 1 on a floor naming a flag the flags file does not define (a typo), with its file:line', async () => {
    const shipped = readFileSync(join(ROOT, 'floors', 'cart-bottom-sheet.yaml'), 'utf8');
    const dir = floorsDir({ 'cart-bottom-sheet.yaml': shipped.replace('flag: floor.plus-rebate', 'flag: floor.plus-rebat') });
    const line = shipped.split('\n').findIndex((l) => l.includes('flag: floor.plus-rebate')) + 1;
    const known = (JSON.parse(readFileSync(join(ROOT, 'config', 'flags.json'), 'utf8')) as { features: Array<{ name: string }> }).features.map((f) => f.name).sort();
    const run = await floors(['check', '--dir', dir]);
    expect(run.code).toBe(1);
    expect(run.stderr.split('\n')).toEqual([
      `\`floors[6].flag\` must name a flag defined in config/flags.json (${known.join(', ')}), but got: "floor.plus-rebat" (${join(dir, 'cart-bottom-sheet.yaml')}:${line})`,
      'floors are invalid: 1 problem(s)',
      '',
    ]);
  });

  it('exits 1 on a folder with no floors file', async () => {
    const dir = floorsDir({ 'notes.txt': 'nothing here' });
    const run = await floors(['check', '--dir', dir]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`floors folder ${dir} (--dir) must hold at least one <scene>.yaml, but has none`);
  });

  it('names where a floors folder that cannot be read came from: --dir, or the config setting and its variable', async () => {
    const missing = join(tmpdir(), 'floorplan-no-such-floors');
    const given = await floors(['check', '--dir', missing]);
    expect(given.code).toBe(1);
    expect(given.stderr).toContain(`floors folder ${missing} (--dir) cannot be read: ENOENT`);
    const configured = await floors(['check'], { FLOORS_DIR: missing });
    expect(configured.code).toBe(1);
    expect(configured.stderr).toContain(`floors folder ${missing} (config floors.dir, FLOORS_DIR) cannot be read: ENOENT`);
  });

  it('exits 2 on a percentage that is not a whole number from 0 to 100, before the store is touched', async () => {
    const store = floorsDir({});
    for (const given of ['0.5', '0x10', '1e1', '101', ' 5', '']) {
      const run = await floors(['rollout', 'cart-bottom-sheet', '--percentage', given], { LAYOUT_STORE: 'pglite', LAYOUT_STORE_DIR: join(store, 'revisions') });
      expect(run.code, given).toBe(2);
      expect(run.stderr, given).toContain(`--percentage must be a whole number from 0 to 100 (Unleash buckets users by whole per cent), but got: ${JSON.stringify(given)}`);
    }
    expect(existsSync(join(store, 'revisions'))).toBe(false);
    // Six processes, one after another: each compiles src/ with tsx, seconds apiece on a loaded machine.
  }, 60_000);

  it('exits as the command would when its reader has gone (`… | head -3`), without a stack trace', async () => {
    const { LAYOUT_STORE: _s, ...inherited } = process.env;
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/floors.ts', 'check'], { cwd: ROOT, env: { ...inherited, LAYOUT_STORE: 'none' }, stdio: ['ignore', 'pipe', 'pipe'] });
    // The reader is gone before the command writes a line: every write to stdout fails with EPIPE.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const [code] = (await once(child, 'close')) as [number | null];
    expect(stderr).not.toMatch(/EPIPE|Unhandled 'error' event/);
    expect(code).toBe(0);
  });

  it('staging an existing revision says who staged it and why, beside the revision\'s own author and message', async () => {
    const env = { LAYOUT_STORE: 'pglite', LAYOUT_STORE_DIR: join(floorsDir({}), 'revisions'), USER: 'carol' };
    expect((await floors(['publish', '--message', 'baseline', '--author', 'alice'], env)).code).toBe(0);
    const staged = await floors(['candidate', 'cart-bottom-sheet', '--revision', '1', '--allow', 'u1001', '--author', 'bob', '--message', 'try the baseline again'], env);
    expect(staged.code, staged.stderr).toBe(0);
    expect(staged.stdout.split('\n')[0]).toBe('candidate of cart-bottom-sheet: revision 1 by alice "baseline", staged by bob "try the baseline again"');
  }, 60_000);

  it('says what a forced promote straight on the store was forced over: no shadow comparison it could read', async () => {
    const env = { LAYOUT_STORE: 'pglite', LAYOUT_STORE_DIR: join(floorsDir({}), 'revisions') };
    expect((await floors(['publish', '--message', 'baseline'], env)).code).toBe(0);
    expect((await floors(['candidate', 'cart-bottom-sheet', '--revision', '1', '--allow', 'u1001'], env)).code).toBe(0);
    const promoted = await floors(['promote', 'cart-bottom-sheet', '--force'], env);
    expect(promoted.code, promoted.stderr).toBe(0);
    expect(promoted.stdout).toMatch(/^promoted the candidate revision 1 \(forced over no shadow comparison read\) as revision 2 \(live\)/);
  }, 60_000);

  it('refuses a publish --from a live revision that is no longer live; splits --allow on a Chinese IME comma; audits a rollout --message', async () => {
    const env = { LAYOUT_STORE: 'pglite', LAYOUT_STORE_DIR: join(floorsDir({}), 'revisions') };
    expect((await floors(['publish', '--message', 'baseline'], env)).code).toBe(0);
    expect((await floors(['publish', '--message', 'hotfix'], env)).code).toBe(0);
    const stale = await floors(['publish', '--from', '1', '--message', 'read before the hotfix'], env);
    expect(stale.code).toBe(2);
    expect(stale.stderr.trim()).toBe('live is revision 2 now, not 1: look at what changed since, then publish again; nothing was changed');
    const staged = await floors(['candidate', 'cart-bottom-sheet', '--revision', '1', '--allow', 'u1001，u2002、u3003'], env);
    expect(staged.code, staged.stderr).toBe(0);
    expect(staged.stdout).toContain('rollout: allow-list [u1001, u2002, u3003], then 0 % by user id');
    const rollout = await floors(['rollout', 'cart-bottom-sheet', '--percentage', '5', '--message', 'a few more'], env);
    expect(rollout.code, rollout.stderr).toBe(0);
    const audit = await floors(['audit', '--limit', '1'], env);
    expect(audit.stdout).toMatch(/ rollout → revision 1 {2}\{.*"message":"a few more"/);
  }, 120_000);

  it('refuses a candidate --replaces a candidate the scene no longer has (or --replaces none when it has one), with the words the API uses, and changes nothing', async () => {
    const env = { LAYOUT_STORE: 'pglite', LAYOUT_STORE_DIR: join(floorsDir({}), 'revisions') };
    expect((await floors(['publish', '--message', 'baseline'], env)).code).toBe(0);
    const first = await floors(['candidate', 'cart-bottom-sheet', '--revision', '1', '--replaces', 'none', '--allow', 'u1001'], env);
    expect(first.code, first.stderr).toBe(0);
    // A colleague's candidate is there now: the one this operator saw (none) is not.
    const overNone = await floors(['candidate', 'cart-bottom-sheet', '--revision', '1', '--replaces', 'none', '--allow', 'u2002'], env);
    expect(overNone.code).toBe(2);
    expect(overNone.stderr).toBe('scene cart-bottom-sheet has a candidate now (revision 1), which this one would replace: review it, then make the candidate again; nothing was changed\n');
    const replacing = await floors(['candidate', 'cart-bottom-sheet', '--replaces', '1', '--allow', 'u1001', '--message', 'from the folder'], env);
    expect(replacing.code, replacing.stderr).toBe(0);
    expect(replacing.stdout.split('\n')[0]).toMatch(/^candidate of cart-bottom-sheet: revision 2 by .* "from the folder"; replaces the candidate revision 1$/);
    const stale = await floors(['candidate', 'cart-bottom-sheet', '--revision', '1', '--replaces', '1'], env);
    expect(stale.code).toBe(2);
    expect(stale.stderr).toBe('the candidate of cart-bottom-sheet is revision 2 now, not 1: review that one, then make the candidate again; nothing was changed\n');
    const audit = await floors(['audit', '--limit', '1'], env);
    expect(audit.stdout).toMatch(/ candidate → revision 2 {2}\{.*"allowList":\["u1001"\].*"replaced":1/);
  }, 120_000);

  it('exits 2 on a --replaces that is neither a revision nor none, and on --replaces given to another command, before the store is touched', async () => {
    const store = floorsDir({});
    const env = { LAYOUT_STORE: 'pglite', LAYOUT_STORE_DIR: join(store, 'revisions') };
    const bad = await floors(['candidate', 'cart-bottom-sheet', '--revision', '1', '--replaces', 'nothing'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--replaces must be the candidate revision of the scene you read (1, 2, …), or none when it had none, but got: "nothing"');
    const elsewhere = await floors(['rollout', 'cart-bottom-sheet', '--replaces', '1'], env);
    expect(elsewhere.code).toBe(2);
    expect(elsewhere.stderr).toContain('--replaces is the candidate revision a new candidate replaces; floors:rollout takes none (its --revision names the candidate it changes)');
    expect(existsSync(join(store, 'revisions'))).toBe(false);
  }, 60_000);

  it('exits 2 naming the scenes when a candidate of an existing revision names a scene it does not define', async () => {
    const env = { LAYOUT_STORE: 'pglite', LAYOUT_STORE_DIR: join(floorsDir({}), 'revisions') };
    expect((await floors(['publish', '--message', 'baseline'], env)).code).toBe(0);
    const run = await floors(['candidate', 'cart-bottom-shet', '--revision', '1'], env);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('`scene` must be one the candidate\'s floors define ("cart-bottom-sheet", "checkout-summary"), but got: "cart-bottom-shet"');
    expect(run.stderr).not.toContain('floors are invalid');
  }, 60_000);

  it('exits 2 when a candidate is given both a folder and a revision, which would ignore the folder', async () => {
    const store = floorsDir({});
    const run = await floors(['candidate', 'cart-bottom-sheet', '--revision', '1', '--dir', 'floors'], { LAYOUT_STORE: 'pglite', LAYOUT_STORE_DIR: join(store, 'revisions') });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('floors:candidate takes --dir <folder> (a new revision of those files) or --revision <n> (one the store holds), not both');
    expect(existsSync(join(store, 'revisions'))).toBe(false);
  });

  it('says after a rollback or publish which candidate its users keep, to whom, and how to give them the live floors', async () => {
    const env = { LAYOUT_STORE: 'pglite', LAYOUT_STORE_DIR: join(floorsDir({}), 'revisions') };
    expect((await floors(['publish', '--message', 'baseline'], env)).code).toBe(0);
    const cart = readFileSync(join(ROOT, 'floors', 'cart-bottom-sheet.yaml'), 'utf8');
    const checkout = readFileSync(join(ROOT, 'floors', 'checkout-summary.yaml'), 'utf8');
    const draft = { 'cart-bottom-sheet.yaml': cart.replace('version: "2026-11-21.1"', 'version: "2026-12-06.1"').replace('en: Coupons }', 'en: Vouchers }'), 'checkout-summary.yaml': checkout };
    expect((await floors(['publish', '--dir', floorsDir(draft), '--message', 'vouchers'], env)).code).toBe(0);
    const staged = await floors(['candidate', 'cart-bottom-sheet', '--dir', floorsDir(draft), '--allow', 'u1001'], env);
    expect(staged.code, staged.stderr).toBe(0);
    expect((await floors(['rollout', 'cart-bottom-sheet', '--percentage', '10'], env)).code).toBe(0);

    const kept = 'warning: the candidate of cart-bottom-sheet (revision 3) is still served to allow-list [u1001], then 10 % by user id: they keep its floors, not these; floors:abort -- cart-bottom-sheet gives them the live ones';
    const rolledBack = await floors(['rollback', '1'], env);
    expect(rolledBack.code, rolledBack.stderr).toBe(0);
    expect(rolledBack.stdout.split('\n')[0]).toMatch(/^rolled back as revision 4 \(live\) by .*; parent 2, restores revision 1$/);
    expect(rolledBack.stdout.split('\n')).toContain(kept);
    const published = await floors(['publish', '--message', 'baseline again'], env);
    expect(published.stdout.split('\n')).toContain(kept);

    expect((await floors(['abort', 'cart-bottom-sheet'], env)).code).toBe(0);
    const after = await floors(['rollback', '2'], env);
    expect(after.code, after.stderr).toBe(0);
    expect(after.stdout).not.toContain('candidate');
  }, 120_000);

  it('refuses (exit 2) a publish or rollback that would take a scene with a candidate off the air, naming whom it serves and how to abort it', async () => {
    const env = { LAYOUT_STORE: 'pglite', LAYOUT_STORE_DIR: join(floorsDir({}), 'revisions') };
    expect((await floors(['publish', '--message', 'baseline'], env)).code).toBe(0);
    const cartOnly = { 'cart-bottom-sheet.yaml': readFileSync(join(ROOT, 'floors', 'cart-bottom-sheet.yaml'), 'utf8') };
    expect((await floors(['publish', '--dir', floorsDir(cartOnly), '--message', 'checkout retired'], env)).code).toBe(0);
    expect((await floors(['rollback', '1'], env)).code).toBe(0);
    const staged = await floors(['candidate', 'checkout-summary', '--revision', '1', '--allow', 'u1', '--replaces', 'none'], env);
    expect(staged.code, staged.stderr).toBe(0);

    const published = await floors(['publish', '--dir', floorsDir(cartOnly), '--message', 'checkout retired again'], env);
    expect(published.code).toBe(2);
    expect(published.stdout).toBe('');
    expect(published.stderr).toBe(
      'this publish must keep on the air every scene that has a candidate, but it would take checkout-summary off the air, whose candidate (revision 1) is served to allow-list [u1], then 0 % by user id: ' +
        'they would be refused the scene, not kept on its candidate. Abort the candidate first (floors:abort -- checkout-summary, or POST /admin/layouts/abort {"scene":"checkout-summary"}), or keep its file in the set; nothing was changed\n',
    );
    const rolledBack = await floors(['rollback', '2'], env);
    expect(rolledBack.code).toBe(2);
    expect(rolledBack.stderr).toMatch(/^rollback to revision 2 must keep on the air every scene that has a candidate, but it would take checkout-summary off the air/);
    expect((await floors(['history'], env)).stdout.split('\n')[0]).toMatch(/^\* 3 /);
  }, 120_000);

  it("refuses (exit 1) a candidate from a folder without its scene's file, rather than staging a copy of live", async () => {
    const env = { LAYOUT_STORE: 'pglite', LAYOUT_STORE_DIR: join(floorsDir({}), 'revisions') };
    expect((await floors(['publish', '--message', 'baseline'], env)).code).toBe(0);
    const checkout = readFileSync(join(ROOT, 'floors', 'checkout-summary.yaml'), 'utf8').replace('version: "2026-11-21.1"', 'version: "2026-12-09.1"');
    const run = await floors(['candidate', 'cart-bottom-sheet', '--dir', floorsDir({ 'checkout-summary.yaml': checkout }), '--allow', 'u1001'], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe('`scene` must be one the candidate\'s floors define ("checkout-summary"), but got: "cart-bottom-sheet" (the files given: "checkout-summary.yaml"; live\'s other scenes only complete them)\nfloors are invalid: 1 problem(s)\n');
    expect((await floors(['candidates'], env)).stdout).toContain('no scene has a candidate now');
    expect((await floors(['history'], env)).stdout.trim().split('\n')).toHaveLength(1);
  }, 120_000);

  it('warns, and publishes, a scene whose floors changed under the same version', async () => {
    const env = { LAYOUT_STORE: 'pglite', LAYOUT_STORE_DIR: join(floorsDir({}), 'revisions') };
    expect((await floors(['publish', '--message', 'baseline'], env)).code).toBe(0);
    const cart = readFileSync(join(ROOT, 'floors', 'cart-bottom-sheet.yaml'), 'utf8');
    const checkout = readFileSync(join(ROOT, 'floors', 'checkout-summary.yaml'), 'utf8');
    const renamed = floorsDir({ 'cart-bottom-sheet.yaml': cart.replace('{ zh-CN: 优惠券, en: Coupons }', '{ zh-CN: 优惠, en: Coupons }'), 'checkout-summary.yaml': checkout });
    const published = await floors(['publish', '--dir', renamed, '--message', '优惠'], env);
    expect(published.code, published.stderr).toBe(0);
    expect(published.stdout.split('\n')).toContain(
      'warning: the floors of cart-bottom-sheet changed, but its version did not (still "2026-11-21.1"): layoutVersion does not tell them from the last ones (the decision record\'s revision does); give it a new version next time',
    );
    expect((await floors(['publish', '--dir', renamed, '--message', 'the same'], env)).stdout).not.toContain('warning');
  }, 60_000);

  it('exits 2 with the usage on an unknown command', async () => {
    const run = await floors(['chek']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('usage: npm run -s floors:check');
  });
});

/** The committed clients file with `zeroText` only from Android 12.2.0: Android 11.2.0 and 12.1.0 are live, and every sheet's shipping row (the compact variant's too) sends it. */
function stricterClients(): string {
  const committed = readFileSync(join(ROOT, 'config', 'clients.yaml'), 'utf8');
  const dir = floorsDir({ 'clients.yaml': committed.replace(/zeroText: "10\.2\.0"/, 'zeroText: { ios: "10.2.0", android: "12.2.0" }') });
  return join(dir, 'clients.yaml');
}

describe('floors:check, floors:publish and floors:candidate against the live app versions', () => {
  /** What each refused command prints on stderr: one problem per live Android version below 12.2.0 and shipping row. */
  const refusal = (clients: string, published: boolean) => {
    const line = (file: string, indent = '  ') => readFileSync(join(ROOT, 'floors', file), 'utf8').split('\n').indexOf(`${indent}- code: shipping`) + 1;
    const problem = (version: string, scene: string, variant?: string) =>
      `android ${version} must understand every field it is sent, but floor "shipping" of ${scene}${variant === undefined ? '' : ` (variant ${variant})`} would send it zeroText (understood from android 12.2.0; give the floor a minAppVersion, or leave the field out) (floors/${scene}.yaml:${line(`${scene}.yaml`, variant === undefined ? '  ' : '      ')})`;
    return [
      problem('11.2.0', 'cart-bottom-sheet'),
      problem('11.2.0', 'cart-bottom-sheet', 'compact'),
      problem('11.2.0', 'checkout-summary'),
      problem('12.1.0', 'cart-bottom-sheet'),
      problem('12.1.0', 'cart-bottom-sheet', 'compact'),
      problem('12.1.0', 'checkout-summary'),
      `floors are incompatible with live app versions (${clients}): 6 problem(s)${published ? '; nothing was published' : ''}`,
      '',
    ];
  };

  it('floors:check exits 1 naming the platform, version, scene, floor and field, and prints the matrix', async () => {
    const clients = stricterClients();
    const run = await floors(['check'], { FLOORS_CLIENTS_FILE: clients });
    expect(run.code).toBe(1);
    expect(run.stderr.split('\n')).toEqual(refusal(clients, false));
    expect(run.stdout).toContain(`compatibility with the 7 supported live app version(s) in ${clients}`);
    expect(run.stdout).toContain(
      'REFUSED    android   12.1.0   checkout-summary             9 floor(s); styles muted, bold, emphasis; fields subName, zeroText; kinds GOODS, DEDUCTION, CHARGE, PAYABLE, TEXT; 1 problem(s) below',
    );
    expect(run.stdout).toContain('REFUSED    android   12.1.0   cart-bottom-sheet (compact)  8 floor(s); styles bold, emphasis; fields subName, zeroText;');
    expect(run.stdout).toContain('REFUSED    android   11.2.0   cart-bottom-sheet (compact)  8 floor(s); styles bold, emphasis→bold;');
    // iOS learnt zeroText in 10.2.0: both its versions are fine.
    expect(run.stdout).toContain('ok         ios       11.0.0   cart-bottom-sheet (compact)  8 floor(s); styles bold, emphasis→bold; fields subName, zeroText;');
  });

  it('floors:publish and floors:candidate refuse before the revision store is touched', async () => {
    const clients = stricterClients();
    const store = floorsDir({});
    for (const args of [['publish'], ['candidate', 'cart-bottom-sheet', '--percentage', '5']]) {
      const run = await floors(args, { FLOORS_CLIENTS_FILE: clients, LAYOUT_STORE: 'pglite', LAYOUT_STORE_DIR: join(store, 'revisions') });
      expect(run.code, args[0]).toBe(1);
      expect(run.stderr.split('\n'), args[0]).toEqual(refusal(clients, true));
      expect(run.stdout, args[0]).toContain('REFUSED    android   12.1.0   cart-bottom-sheet');
    }
    // Refused before the store was opened: no PGlite folder was created.
    expect(existsSync(join(store, 'revisions'))).toBe(false);
  });

  it('exits 2 when the clients file disagrees with config apps about a style token, naming both', async () => {
    const committed = readFileSync(join(ROOT, 'config', 'clients.yaml'), 'utf8');
    const dir = floorsDir({ 'clients.yaml': committed.replace(/emphasis: "12\.0\.0"/, 'emphasis: { ios: "12.0.0", android: "12.2.0" }') });
    const run = await floors(['check'], { FLOORS_CLIENTS_FILE: join(dir, 'clients.yaml') });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('`understands.styles.emphasis` on android must be what config apps.newerStyles says (12.0.0), but got: 12.2.0');
  });
});

describe('npm run floors:publish', () => {
  it('exits 2 saying Redis is needed when none is configured', async () => {
    const run = await floors(['publish']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('floors:publish needs Redis, but none is configured: set REDIS_URL');
  });

  it('names the Sentinels when a publish straight on the store cannot reach them (it used to say "at :")', async () => {
    const port = await freePort();
    const store = floorsDir({});
    const run = await floors(['publish', '--message', 'sentinels down'], { REDIS_SENTINELS: `127.0.0.1:${port}`, LAYOUT_STORE: 'pglite', LAYOUT_STORE_DIR: join(store, 'revisions') });
    expect(run.stdout).toContain(`not pushed through Redis: Redis push failed (cannot connect to Redis at primary "floorplan" of sentinels 127.0.0.1:${port}: `);
  }, 60_000);

  it('exits 2 when Redis refuses the connection, publishing nothing', async () => {
    const run = await floors(['publish'], { REDIS_URL: 'redis://127.0.0.1:1/0' });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('cannot connect to Redis at redis://127.0.0.1:1/0');
    expect(run.stderr).toContain('nothing was published');
  });
});

describe('floors commands against a host name with two addresses that refuses both (localhost on most machines)', () => {
  // Node tries ::1 and 127.0.0.1 and fails with an AggregateError whose message is empty: the
  // tool used to print "cannot connect to Redis at …: ; nothing was published".
  const bothRefused = (port: number) => new RegExp(`: connect E[A-Z]+ ::1:${port}; connect ECONNREFUSED 127\\.0\\.0\\.1:${port}; `);

  it('floors:publish names each address Redis refused', async () => {
    const port = await freePort();
    const run = await floors(['publish'], { REDIS_URL: `redis://${TWO_ADDRESS_HOST}:${port}/0`, NODE_OPTIONS: `--import=${twoAddressPreload()}` });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`cannot connect to Redis at redis://${TWO_ADDRESS_HOST}:${port}/0: `);
    expect(run.stderr).toMatch(bothRefused(port));
    expect(run.stderr).toContain('nothing was published');
  });

  it('floors:history --server names each address the server refused', async () => {
    const port = await freePort();
    const server = `http://${TWO_ADDRESS_HOST}:${port}`;
    const run = await floors(['history', '--server', server], { ADMIN_TOKEN: 'a-token-of-16-characters', NODE_OPTIONS: `--import=${twoAddressPreload()}` });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`cannot reach Floorplan at ${server}: `);
    expect(run.stderr).toMatch(bothRefused(port));
    expect(run.stderr).toContain('nothing was changed');
  });
});

describe('floors commands through a server (--server) run where the server\'s own operators are set too', () => {
  // ADMIN_TOKEN is the caller's credential here, not the server's: a shell that also exports the
  // server's ADMIN_OPERATORS (one who runs npm start from it) held alice's own token as shared
  // with alice, and the command stopped at the config check.
  it('takes ADMIN_TOKEN as the caller\'s credential and ignores ADMIN_OPERATORS', async () => {
    const port = await freePort();
    const token = 'alice-credential-0123456789';
    const run = await floors(['history', '--server', `http://127.0.0.1:${port}`], { ADMIN_TOKEN: token, ADMIN_OPERATORS: JSON.stringify({ alice: { token, role: 'publisher' } }) });
    expect(run.stderr).not.toContain('must be alice');
    expect(run.stderr).toContain(`cannot reach Floorplan at http://127.0.0.1:${port}`);
    expect(run.code).toBe(2);
  });
});

describe('floors commands through a server that answers an error in the GraphQL shape ({"errors": [...]})', () => {
  // The HTTP layer answers what it refuses before an admin route runs (a body over
  // server.bodyLimitBytes) as it answers /graphql: {"errors": [{"message", "extensions": {"code"}}]}.
  // The command printed only "HTTP 413" for it.
  let h: Harness | undefined;
  let dir: string | undefined;
  afterAll(async () => {
    await h?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('floors:publish --server prints the message and code it got, and exits 2', async () => {
    dir = mkdtempSync(join(tmpdir(), 'floorplan-cli-413-'));
    const token = 'a-token-of-16-characters';
    h = await startHarness({ config: { server: { bodyLimitBytes: 1024 }, admin: { token }, layouts: { store: { kind: 'pglite', dataDir: join(dir, 'revisions') } } } });
    const run = await floors(['publish', '--server', h.url], { ADMIN_TOKEN: token });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^HTTP 413: request body must be at most 1024 bytes.* \(FLOORPLAN_ERR_HTTP_BODY_TOO_LARGE\)\n$/);
  }, 60_000);
});

describe('floors commands through a URL that serves no layout admin API (--server)', () => {
  // A production replica has ADMIN_TOKEN empty unless it is set, and with server.managementPort
  // (9464 in the Kubernetes manifests) serves /admin/* there only: the apps' port answers the
  // admin paths 404 as unknown paths. The command printed that 404 as it came, "HTTP 404: no route
  // for /admin/layouts/history; GraphQL is served at /graphql (BAD_REQUEST)", naming neither cause.
  const token = 'a-token-of-16-characters';
  const servers: Harness[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });
  const NO_ADMIN_API = (server: string) =>
    `${server} has no layout admin API: a Floorplan serves it only with admin.token (ADMIN_TOKEN) or admin.operators (ADMIN_OPERATORS) set, and with server.managementPort (MANAGEMENT_PORT) on that port only, not the apps' port; --server takes that Floorplan's management URL\n`;

  it("says where the admin API is when pointed at the apps' port of a Floorplan with a management port, and exits 2", async () => {
    const h = await startHarness({ config: { server: { managementPort: 0 }, admin: { token } } });
    servers.push(h);
    const run = await floors(['history', '--server', h.url], { ADMIN_TOKEN: token });
    expect(run.stderr).toBe(NO_ADMIN_API(h.url));
    expect(run.code).toBe(2);
  }, 60_000);

  it('says so for a Floorplan whose ADMIN_TOKEN is empty, and exits 2', async () => {
    const h = await startHarness({ config: { admin: { token: '' } } });
    servers.push(h);
    const run = await floors(['history', '--server', h.url], { ADMIN_TOKEN: token });
    expect(run.stderr).toBe(NO_ADMIN_API(h.url));
    expect(run.code).toBe(2);
  }, 60_000);

  it("prints the Floorplan's own reason when it keeps no revisions (layouts.store.kind none), not a guess", async () => {
    const h = await startHarness({ config: { server: { managementPort: 0 }, admin: { token } } });
    servers.push(h);
    const run = await floors(['history', '--server', h.server.managementUrl ?? ''], { ADMIN_TOKEN: token });
    expect(run.stderr).toMatch(/^this Floorplan keeps no layout revisions \(layouts\.store\.kind is none\), so it offers no layout operations: /);
    expect(run.code).toBe(2);
  }, 60_000);
});

describe('floors:candidate --replaces through a server (--server)', () => {
  let h: Harness | undefined;
  let dir: string | undefined;
  afterAll(async () => {
    await h?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("is refused as the API refuses it when a colleague's candidate is there, and replaces the one it names", async () => {
    dir = mkdtempSync(join(tmpdir(), 'floorplan-cli-replaces-'));
    const token = 'a-token-of-16-characters';
    h = await startHarness({ config: { admin: { token }, layouts: { store: { kind: 'pglite', dataDir: join(dir, 'revisions') } } } });
    const api = async (operation: string, body: unknown) => {
      const res = await fetch(`${h?.url}/admin/layouts/${operation}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as { error?: string } };
    };
    const env = { ADMIN_TOKEN: token };
    expect((await floors(['publish', '--server', h.url, '--message', 'baseline'], env)).code).toBe(0);
    // A colleague makes the scene's candidate after this operator saw it had none.
    expect((await api('candidate', { scene: 'cart-bottom-sheet', revision: 1, rollout: { allowList: ['u-vip'] }, message: 'the colleague' })).status).toBe(200);
    const refused = await floors(['candidate', 'cart-bottom-sheet', '--server', h.url, '--replaces', 'none', '--allow', 'u1001'], env);
    expect(refused.code).toBe(2);
    const byApi = await api('candidate', { scene: 'cart-bottom-sheet', revision: 1, replaces: null });
    expect(byApi.status).toBe(409);
    expect(refused.stderr).toBe(`${byApi.body.error}\n`);
    expect(refused.stderr).toBe('scene cart-bottom-sheet has a candidate now (revision 1), which this one would replace: review it, then make the candidate again; nothing was changed\n');
    expect((await api('candidates', {})).body).toMatchObject({ candidates: [{ scene: 'cart-bottom-sheet', revision: 1, rollout: { allowList: ['u-vip'] } }] });

    const replaced = await floors(['candidate', 'cart-bottom-sheet', '--server', h.url, '--replaces', '1', '--allow', 'u1001'], env);
    expect(replaced.code, replaced.stderr).toBe(0);
    expect(replaced.stdout.split('\n')[0]).toMatch(/; replaces the candidate revision 1$/);
  }, 120_000);
});

describe('floors:promote through a server (--server) refused both by the shadow and by a hotfix since the candidate was cut', () => {
  let h: Harness | undefined;
  let dir: string | undefined;
  afterAll(async () => {
    await h?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('names the money refusal and the hotfix it would undo, as the API answers them, and says a forced promote replaced the hotfix', async () => {
    dir = mkdtempSync(join(tmpdir(), 'floorplan-cli-promote-both-'));
    const token = 'a-token-of-16-characters';
    // Every live request is compared with the candidate.
    h = await startHarness({ config: { admin: { token }, layouts: { store: { kind: 'pglite', dataDir: join(dir, 'revisions') }, shadow: { sampleRatio: 1 } } } });
    const server = h.url;
    const api = (operation: string, body: unknown) => postLayoutAdmin(server, token, operation, body);
    const env = { ADMIN_TOKEN: token };
    expect((await floors(['publish', '--server', server, '--message', 'baseline'], env)).code).toBe(0);
    // Without its goods row (GOODS), the candidate's rows no longer add up to the payable total.
    const noGoods = floorsDir({ 'cart-bottom-sheet.yaml': SHIPPED_CART.replace(/ {2}- code: spze\n(?: {4}.*\n)+\n/, '').replace('version: "2026-11-21.1"', 'version: "2026-12-06.no-spze"') });
    const staged = await floors(['candidate', 'cart-bottom-sheet', '--server', server, '--dir', noGoods, '--allow', 'u1001', '--replaces', 'none'], env);
    expect(staged.code, staged.stderr).toBe(0);
    const candidate = (await api('candidates', {})).body.candidates[0].revision as number;
    expect((await h.graphql('u-basic', '{ floorPanel(scene: "cart-bottom-sheet") { layoutVersion } }')).status).toBe(200);
    const shadow = await eventually(async () => (await api('shadow', { scene: 'cart-bottom-sheet' })).body, (r) => r.invariantViolations?.candidate >= 1);
    expect(shadow.invariantViolations.candidate).toBeGreaterThanOrEqual(1);
    // A hotfix of another floor of the same scene goes live.
    const hotfix = await api('publish', { files: { 'cart-bottom-sheet.yaml': SHIPPED_CART.replace('zh-CN: PLUS会员返利,', 'zh-CN: PLUS返利,'), 'checkout-summary.yaml': SHIPPED_CHECKOUT }, message: 'hotfix' });
    expect(hotfix.status, JSON.stringify(hotfix.body)).toBe(200);
    const change = 'cart-bottom-sheet: floor plus-rebate name[zh-CN]: "PLUS会员返利" → "PLUS返利"';

    const refused = await floors(['promote', 'cart-bottom-sheet', '--server', server, '--revision', String(candidate)], env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('must have no money-invariant violations in its shadow comparison to be promoted');
    expect(refused.stderr).toContain(`and live changed cart-bottom-sheet since it was cut from revision 1, which promoting it would undo: ${change} (live is revision ${hotfix.body.revision.revision as number})`);
    expect(refused.stderr).toContain('promote with force to override both, replacing those changes');
    const byApi = await api('promote', { scene: 'cart-bottom-sheet', revision: candidate });
    expect(byApi).toMatchObject({ status: 409, body: { code: 'FLOORPLAN_ERR_LAYOUT_PROMOTE_REFUSED', overtaken: [change] } });
    expect(refused.stderr).toBe(`${byApi.body.error as string}\n`);
    expect((await api('history', { limit: 1 })).body.live).toBe(hotfix.body.revision.revision);

    const forced = await floors(['promote', 'cart-bottom-sheet', '--server', server, '--revision', String(candidate), '--force'], env);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout.split('\n')[0]).toMatch(new RegExp(`^promoted the candidate revision ${candidate} \\(forced over \\d+ invariant violation\\(s\\), replacing live's changes since it was cut: ${change.replace(/[()[\]]/g, '\\$&')}\\) as`));
  }, 120_000);
});

/** An ISO 8601 time as the store records it, in a pattern. */
const AT = String.raw`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z`;
/** The shipped cart sheet with its 立减 (DEDUCTION) row renamed: a money change, which layouts.approval asks another admin to approve. */
const MONEY_CHANGE = readFileSync(join(ROOT, 'floors', 'cart-bottom-sheet.yaml'), 'utf8')
  .replace('name: { zh-CN: 立减, en: Instant discount }', 'name: { zh-CN: 直降, en: Instant discount }')
  .replace('version: "2026-11-21.1"', 'version: "2026-12-01.lj"');
const SHIPPED_CHECKOUT = readFileSync(join(ROOT, 'floors', 'checkout-summary.yaml'), 'utf8');
const SHIPPED_CART = readFileSync(join(ROOT, 'floors', 'cart-bottom-sheet.yaml'), 'utf8');
const NEEDS_APPROVAL =
  'approval: needed before promote, it changes money floors: cart-bottom-sheet lj (DEDUCTION, changed) (another admin runs floors:approve -- cart-bottom-sheet); until then it reaches its allow-list only';

describe('npm run floors:candidates straight on the revision store', () => {
  it('lists each scene\'s candidate: revision, who staged it when and why, its rollout, its approval, and that no shadow comparison is read here', async () => {
    const env = { LAYOUT_STORE: 'pglite', LAYOUT_STORE_DIR: join(floorsDir({}), 'revisions'), LAYOUT_APPROVAL_REQUIRED: 'true' };
    expect((await floors(['publish', '--message', 'baseline'], env)).code).toBe(0);
    const none = await floors(['candidates'], env);
    expect(none).toEqual({ code: 0, stderr: '', stdout: 'no scene has a candidate now: make one with npm run -s floors:candidate -- <scene> --replaces none\n' });

    const next = floorsDir({ 'cart-bottom-sheet.yaml': MONEY_CHANGE, 'checkout-summary.yaml': SHIPPED_CHECKOUT });
    const cart = await floors(
      // Its allow-list only: a money change reaches no one else before another admin approves it.
      ['candidate', 'cart-bottom-sheet', '--dir', next, '--allow', 'u1001,u2002', '--platforms', 'ios', '--min-app-version', '12.0.0', '--author', 'alice', '--message', '立减 becomes 直降'],
      env,
    );
    expect(cart.code, cart.stderr).toBe(0);
    expect((await floors(['candidate', 'checkout-summary', '--revision', '1', '--allow', 'u-vip', '--message', 'the baseline again'], env)).code).toBe(0);
    expect((await floors(['rollout', 'checkout-summary', '--percentage', '5'], env)).code).toBe(0);

    const listed = await floors(['candidates'], env);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stderr).toBe('');
    const noShadow = 'shadow comparison: none here (this command does not talk to a replica: add --server <url>); a promote from here needs --force';
    const lines = listed.stdout.split('\n');
    expect(lines).toHaveLength(10);
    expect(lines[0]).toMatch(new RegExp(`^candidate of cart-bottom-sheet: revision 2, staged by alice at ${AT} "立减 becomes 直降" \\(published by ${userInfo().username}\\)$`));
    expect(lines.slice(1, 5)).toEqual(['rollout: allow-list [u1001, u2002], then 0 % by user id (only platforms ios, app 12.0.0+)', NEEDS_APPROVAL, noShadow, '']);
    expect(lines[5]).toMatch(new RegExp(`^candidate of checkout-summary: revision 1, staged by ${userInfo().username} at ${AT} "the baseline again"$`));
    // The rollout was changed after it was staged: when, too.
    expect(lines[6]).toMatch(new RegExp(`^rollout: allow-list \\[u-vip\\], then 5 % by user id; changed at ${AT}$`));
    expect(lines.slice(7)).toEqual(['approval: not needed (no money floor changes)', noShadow, '']);

    // One scene: its candidate alone; a scene no floors define (a typo) is refused as floors:approve refuses it.
    const one = await floors(['candidates', 'checkout-summary'], env);
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout.split('\n').slice(1)).toEqual(lines.slice(6));
    const typo = await floors(['candidates', 'cart-bottom-shet'], env);
    expect(typo).toEqual({ code: 2, stdout: '', stderr: 'scene must be one of "cart-bottom-sheet", "checkout-summary", but got: "cart-bottom-shet"\n' });
    const approveTypo = await floors(['approve', 'cart-bottom-shet'], env);
    expect(approveTypo).toEqual({ code: 2, stdout: '', stderr: 'scene must be one with a candidate ("cart-bottom-sheet", "checkout-summary"), but got: "cart-bottom-shet"\n' });
    // A scene live serves, without a candidate: said, not refused.
    expect((await floors(['abort', 'checkout-summary'], env)).code).toBe(0);
    const without = await floors(['candidates', 'checkout-summary'], env);
    expect(without).toEqual({ code: 0, stderr: '', stdout: 'no candidate of checkout-summary (scenes with one: cart-bottom-sheet)\n' });
  }, 120_000);

  it('exits 2 when the store cannot be read, worded for a read', async () => {
    const port = await freePort();
    const run = await floors(['candidates'], { LAYOUT_STORE: 'postgres', LAYOUT_STORE_URL: `postgres://postgres@127.0.0.1:${port}/floorplan` });
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('to read layout revisions');
    expect(run.stderr).not.toContain('nothing was changed');
  }, 60_000);
});

describe('npm run floors:candidates through a server (--server)', () => {
  const ALICE = 'alice-publishes-candidates';
  const BOB = 'bob-reviews-what-alice-did';
  const VERA = 'vera-may-only-look-at-things';
  let h: Harness | undefined;
  let dir: string | undefined;
  afterAll(async () => {
    await h?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('prints what the command on the store prints, with the approval given and the shadow comparison every replica counted', async () => {
    dir = mkdtempSync(join(tmpdir(), 'floorplan-cli-candidates-'));
    h = await startHarness({
      config: {
        admin: { token: 'candidates-suite-admin-token', operators: { alice: { token: ALICE, role: 'publisher' }, bob: { token: BOB, role: 'publisher' }, vera: { token: VERA, role: 'viewer' } } },
        // Every live request is compared with the candidate.
        layouts: { store: { kind: 'pglite', dataDir: join(dir, 'revisions') }, approval: { required: true }, shadow: { sampleRatio: 1 } },
      },
    });
    const server = h.url;
    const admin = (operation: string, body: unknown, token: string) => postLayoutAdmin(server, token, operation, body);
    const files = (cart: string) => ({ 'cart-bottom-sheet.yaml': cart, 'checkout-summary.yaml': SHIPPED_CHECKOUT });
    expect((await admin('publish', { files: files(readFileSync(join(ROOT, 'floors', 'cart-bottom-sheet.yaml'), 'utf8')), message: 'baseline' }, ALICE)).status).toBe(200);
    // A viewer may list them: a read.
    const none = await floors(['candidates', '--server', server], { ADMIN_TOKEN: VERA });
    expect(none).toEqual({ code: 0, stderr: '', stdout: 'no scene has a candidate now: make one with npm run -s floors:candidate -- <scene> --replaces none\n' });
    expect((await floors(['candidates', 'cart-bottom-sheet', '--server', server], { ADMIN_TOKEN: VERA })).stdout).toBe('no candidate of cart-bottom-sheet (no scene has one now)\n');

    const staged = await admin('candidate', { scene: 'cart-bottom-sheet', files: files(MONEY_CHANGE), rollout: { allowList: ['u1001'] }, message: '立减 becomes 直降' }, ALICE);
    expect(staged.status, JSON.stringify(staged.body)).toBe(200);
    const before = await floors(['candidates', '--server', server], { ADMIN_TOKEN: VERA });
    expect(before.code, before.stderr).toBe(0);
    expect(before.stdout.split('\n').slice(1)).toEqual([
      'rollout: allow-list [u1001], then 0 % by user id',
      NEEDS_APPROVAL,
      'shadow comparison: nothing compared yet (no live request of cart-bottom-sheet since it was staged); promote is refused until one is',
      '',
    ]);

    // A user outside the rollout asks for the sheet: the shadow compares the candidate with it. Bob approves.
    expect((await h.graphql('u1002', '{ floorPanel(scene: "cart-bottom-sheet") { layoutVersion } }')).status).toBe(200);
    await eventually(async () => (await admin('shadow', { scene: 'cart-bottom-sheet' }, VERA)).body.compared as number, (compared) => compared >= 1);
    expect((await admin('approve', { scene: 'cart-bottom-sheet', message: 'checked' }, BOB)).status).toBe(200);

    const [candidate] = (await admin('candidates', {}, VERA)).body.candidates as Array<{ createdAt: string; approvedAt: string }>;
    const listed = await floors(['candidates', 'cart-bottom-sheet', '--server', server], { ADMIN_TOKEN: VERA });
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stderr).toBe('');
    expect(listed.stdout.split('\n')).toEqual([
      `candidate of cart-bottom-sheet: revision 2, staged by alice at ${candidate!.createdAt} "立减 becomes 直降"`,
      'rollout: allow-list [u1001], then 0 % by user id',
      `approval: given by bob at ${candidate!.approvedAt}, for the money floors it changes: cart-bottom-sheet lj (DEDUCTION, changed); it may be promoted`,
      'shadow comparison: 1 live panel(s) compared with it, 0 invariant violation(s)',
      '',
    ]);
  }, 120_000);
});

/** The shipped checkout sheet with a {variable} in a floor's name: what a release before that rule could publish, and replicas still load. */
const CHECKOUT_NAME_VARIABLE = SHIPPED_CHECKOUT.replace('name: { zh-CN: 优惠券, en: Coupons }', 'name: { zh-CN: "优惠券 {couponCount} 张", en: Coupons }');
/** The shipped cart sheet under a new version: a change to one scene. */
const CART_NEXT = readFileSync(join(ROOT, 'floors', 'cart-bottom-sheet.yaml'), 'utf8').replace('version: "2026-11-21.1"', 'version: "2026-12-06.1"');

describe.skipIf(!HAS_POSTGRES)('floors:publish and floors:candidate over a live revision that predates a rule for new text', () => {
  let database: TestDatabase | undefined;
  let h: Harness | undefined;
  afterAll(async () => {
    await h?.close();
    await database?.drop();
  });

  it('judge only the files that differ from live by it, straight on the store and through a server alike', async () => {
    database = await createTestDatabase();
    const store = new RevisionStore({ kind: 'postgres', url: database.url, dataDir: '', connectTimeoutMs: 2000, queryTimeoutMs: 10_000 }, { logger: createLogger('silent') });
    try {
      // Published before the rule existed: live, and what every replica serves.
      await store.record({ files: { 'cart-bottom-sheet.yaml': SHIPPED_CART, 'checkout-summary.yaml': CHECKOUT_NAME_VARIABLE }, author: 'alice', actor: 'alice', message: 'before the rule', action: 'publish' });
    } finally {
      await store.close();
    }
    const env = { LAYOUT_STORE: 'postgres', LAYOUT_STORE_URL: database.url };
    // A change to the cart sheet only: the checkout sheet is live's, byte for byte.
    const cartOnly = floorsDir({ 'cart-bottom-sheet.yaml': CART_NEXT, 'checkout-summary.yaml': CHECKOUT_NAME_VARIABLE });
    const published = await floors(['publish', '--dir', cartOnly, '--message', 'cart only'], env);
    expect(published.stderr).toBe('');
    expect(published.code).toBe(0);
    expect(published.stdout.split('\n')[0]).toMatch(/^published revision 2 \(live\) by .* "cart only"; parent 1$/);
    const staged = await floors(['candidate', 'cart-bottom-sheet', '--dir', cartOnly, '--replaces', 'none', '--allow', 'u1001'], env);
    expect(staged.stderr).toBe('');
    expect(staged.code).toBe(0);

    // A file that changes is judged by the rule, as the admin API judges it.
    const touched = floorsDir({ 'cart-bottom-sheet.yaml': CART_NEXT, 'checkout-summary.yaml': CHECKOUT_NAME_VARIABLE.replace('version: "2026-11-21.1"', 'version: "2026-12-06.1"') });
    const refused = await floors(['publish', '--dir', touched, '--message', 'checkout too'], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('`floors[4].name.zh-CN` is shown to users as written: a {variable} is filled in only in `subName`, so move it there, but got: "{couponCount}"');

    // Through a server: the same folder, the same answers.
    const token = 'a-token-of-16-characters';
    h = await startHarness({ config: { admin: { token }, layouts: { store: { kind: 'postgres', url: database.url } } } });
    const viaServer = await floors(['publish', '--server', h.url, '--dir', cartOnly, '--message', 'cart only, again'], { ADMIN_TOKEN: token });
    expect(viaServer.stderr).toBe('');
    expect(viaServer.code).toBe(0);
    const refusedViaServer = await floors(['publish', '--server', h.url, '--dir', touched, '--message', 'checkout too'], { ADMIN_TOKEN: token });
    expect(refusedViaServer.code).toBe(1);
    expect(refusedViaServer.stderr).toContain('is shown to users as written');
  }, 120_000);
});

describe.skipIf(!HAS_REDIS_SERVER)('npm run floors:publish to a real Redis', () => {
  let redis: PrivateRedis;
  let client: Redis;

  beforeAll(async () => {
    redis = await startPrivateRedis();
    client = new Redis(redis.url);
  });
  afterAll(async () => {
    client.disconnect();
    await redis.stop();
  });

  it('publishes the shipped folder under a new revision and exits 0', async () => {
    const run = await floors(['publish'], { REDIS_URL: redis.url });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout.trim().split('\n')).toEqual([
      `published revision 1 to ${redis.url} (key floorplan:layouts)`,
      ...SHIPPED.map((l) => `${l.scene}: version ${l.version}`),
    ]);
    const stored = JSON.parse((await client.get('floorplan:layouts')) as string) as { revision: number; files: Record<string, string> };
    expect(stored.revision).toBe(1);
    expect(Object.keys(stored.files).sort()).toEqual(['cart-bottom-sheet.yaml', 'checkout-summary.yaml']);

    const again = await floors(['publish'], { REDIS_URL: redis.url });
    expect(again.stdout).toContain('published revision 2');
  });

  it('exits 1 on a broken folder and leaves what is published alone', async () => {
    const before = await client.get('floorplan:layouts');
    const dir = floorsDir({ 'cart-bottom-sheet.yaml': BROKEN_CART });
    const run = await floors(['publish', '--dir', dir], { REDIS_URL: redis.url });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`\`floors[0].sort\` must be an integer, but got: "top" (${join(dir, 'cart-bottom-sheet.yaml')}:6)`);
    expect(run.stderr).toContain('nothing was published');
    expect(await client.get('floorplan:layouts')).toBe(before);
  });

  it('judges only the files that differ from the set Redis holds by the rules for new text', async () => {
    // Published before the rule existed, and what every instance serves.
    await client.set('floorplan:layouts', JSON.stringify({ revision: 7, publishedAt: new Date(0).toISOString(), files: { 'cart-bottom-sheet.yaml': SHIPPED_CART, 'checkout-summary.yaml': CHECKOUT_NAME_VARIABLE } }));
    const cartOnly = floorsDir({ 'cart-bottom-sheet.yaml': CART_NEXT, 'checkout-summary.yaml': CHECKOUT_NAME_VARIABLE });
    const run = await floors(['publish', '--dir', cartOnly], { REDIS_URL: redis.url });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout.split('\n')[0]).toBe(`published revision 8 to ${redis.url} (key floorplan:layouts)`);

    const touched = floorsDir({ 'cart-bottom-sheet.yaml': CART_NEXT, 'checkout-summary.yaml': CHECKOUT_NAME_VARIABLE.replace('version: "2026-11-21.1"', 'version: "2026-12-06.1"') });
    const refused = await floors(['publish', '--dir', touched], { REDIS_URL: redis.url });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('`floors[4].name.zh-CN` is shown to users as written');
    expect(JSON.parse((await client.get('floorplan:layouts')) as string).revision).toBe(8);
  });
});

describe.skipIf(!HAS_REDIS_SERVER)('npm run floors:publish straight on the revision store, pushing through a real Redis', () => {
  let redis: PrivateRedis;
  let client: Redis;
  let env: Record<string, string>;
  let storeDir: string;
  const shippedFiles = () => Object.fromEntries(['cart-bottom-sheet.yaml', 'checkout-summary.yaml'].map((name) => [name, readFileSync(join(ROOT, 'floors', name), 'utf8')]));

  beforeAll(async () => {
    redis = await startPrivateRedis();
    client = new Redis(redis.url);
    // Not floorsDir: afterEach removes those, and the store must outlive the first test.
    storeDir = mkdtempSync(join(tmpdir(), 'floorplan-cli-store-'));
    env = { REDIS_URL: redis.url, LAYOUT_STORE: 'pglite', LAYOUT_STORE_DIR: join(storeDir, 'revisions') };
  });
  afterAll(async () => {
    client.disconnect();
    await redis.stop();
    rmSync(storeDir, { recursive: true, force: true });
  });

  it('says pushed when Redis already holds the revision (a push retried after a failover)', async () => {
    await client.set('floorplan:layouts', JSON.stringify({ revision: 1, publishedAt: new Date().toISOString(), files: shippedFiles() }));
    const run = await floors(['publish', '--message', 'first'], env);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout.split('\n').slice(0, 2)).toEqual([expect.stringMatching(/^published revision 1 \(live\) by .* "first"; parent none$/), 'pushed to every replica through Redis']);
  }, 60_000);

  it('says not pushed, and why, when Redis refuses the push because it holds a newer revision', async () => {
    await client.set('floorplan:layouts', JSON.stringify({ revision: 9, publishedAt: new Date(0).toISOString(), files: shippedFiles() }));
    const files = shippedFiles();
    const next = floorsDir({ ...files, 'checkout-summary.yaml': (files['checkout-summary.yaml'] as string).replace(/^version: .*$/m, 'version: "2026-12-06.1"') });
    const run = await floors(['publish', '--dir', next, '--message', 'second'], env);
    expect(run.code).toBe(0);
    expect(run.stdout.split('\n')[1]).toBe(
      'not pushed through Redis: Redis push failed (Redis holds a newer revision than 2: 9 (another publish, or this revision store restored or recreated behind it)); replicas take revision 2 from the store at their next resync',
    );
    expect(JSON.parse((await client.get('floorplan:layouts')) as string).revision).toBe(9);
  }, 60_000);
  it('says not pushed, and why, when Redis refuses a candidate push because it holds a newer candidate generation', async () => {
    await client.set(candidatesRedisKey('floorplan:'), JSON.stringify({ generation: 9, candidates: [] }));
    const run = await floors(['candidate', 'cart-bottom-sheet', '--revision', '2', '--allow', 'u1001'], env);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(
      "\nnot pushed through Redis: Redis holds a newer candidate generation than 1: 9 (this revision store restored or recreated behind it, or another store pushing to this Redis); replicas follow this store within a poll (layouts.resyncIntervalMs) and set Redis back to its candidate set\n",
    );
    expect(JSON.parse((await client.get(candidatesRedisKey('floorplan:'))) as string).generation).toBe(9);
  }, 60_000);
});

describe('floors:publish and floors:candidate through a server (--server) judge the flag names by that server\'s flags', () => {
  let h: Harness | undefined;
  let dir: string | undefined;
  afterAll(async () => {
    await h?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('publish a floor naming a flag only the server defines, and refuse one it does not, in the server\'s words', async () => {
    dir = mkdtempSync(join(tmpdir(), 'floorplan-cli-server-flags-'));
    // The server's flags file: the shipped one plus floor.new-price, which this checkout's config/flags.json lacks.
    const flags = JSON.parse(readFileSync(join(ROOT, 'config', 'flags.json'), 'utf8')) as Record<string, unknown[]>;
    flags.features!.push({ name: 'floor.new-price', type: 'release', project: 'default', impressionData: false });
    flags.featureStrategies!.push({ name: 'default', featureName: 'floor.new-price', sortOrder: 0, parameters: {}, constraints: [], segments: [] });
    flags.featureEnvironments!.push({ name: 'floor.new-price', featureName: 'floor.new-price', environment: 'development', enabled: true, variants: [] });
    const flagsFile = join(dir, 'server-flags.json');
    writeFileSync(flagsFile, JSON.stringify(flags, null, 2));
    const token = 'a-token-of-16-characters';
    h = await startHarness({ config: { admin: { token }, flags: { bootstrapFile: flagsFile }, layouts: { store: { kind: 'pglite', dataDir: join(dir, 'revisions') } } } });
    const env = { ADMIN_TOKEN: token };
    const line = SHIPPED_CART.split('\n').findIndex((l) => l.includes('flag: floor.plus-rebate')) + 1;
    const naming = (flag: string, version: string) =>
      floorsDir({ 'cart-bottom-sheet.yaml': SHIPPED_CART.replace('flag: floor.plus-rebate', `flag: ${flag}`).replace('version: "2026-11-21.1"', `version: "${version}"`), 'checkout-summary.yaml': SHIPPED_CHECKOUT });

    const published = await floors(['publish', '--server', h.url, '--dir', naming('floor.new-price', '2026-12-07.1'), '--message', 'new price row'], env);
    expect(published.stderr).toBe('');
    expect(published.code).toBe(0);
    expect(published.stdout.split('\n')[0]).toBe('published revision 1 (live) by admin "new price row"; parent none');

    const staged = await floors(['candidate', 'cart-bottom-sheet', '--server', h.url, '--dir', naming('floor.new-price', '2026-12-07.2'), '--replaces', 'none', '--allow', 'u1001'], env);
    expect(staged.stderr).toBe('');
    expect(staged.code).toBe(0);

    // A name the server does not define either is refused by the server, naming its flags file.
    const refused = await floors(['publish', '--server', h.url, '--dir', naming('floor.new-prise', '2026-12-07.3')], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`\`floors[6].flag\` must name a flag defined in ${flagsFile} (`);
    expect(refused.stderr).toContain(`but got: "floor.new-prise" (cart-bottom-sheet.yaml:${line})`);
    expect(refused.stderr).not.toContain('config/flags.json');
  }, 120_000);
});

/**
 * `npm start` with nothing else installed: the revision store is PGlite, in-process, in a data
 * folder; the commands reach it through the running Floorplan's admin API (--server).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadServiceConfig } from '../../src/config/service-config.ts';
import { signDemoToken } from '../../src/viewer/demo-token.ts';
import { startFloorplanProcess, type FloorplanProcess } from '../support/floorplan-process.ts';
import { freePort, npmStartEnv, runFloorsCli, type CliRun } from '../support/processes.ts';

const ADMIN_TOKEN = 'embedded-suite-admin-token';

describe('layout revisions on the embedded store (PGlite, one Floorplan process, no database server)', () => {
  let dir: string;
  let floorplan: FloorplanProcess;
  let token: string;

  const env = () => ({
    LAYOUT_STORE: 'pglite',
    LAYOUT_STORE_DIR: join(dir, 'revisions'),
    ADMIN_TOKEN,
    REQUEST_DEADLINE_MS: '2000',
    LOG_LEVEL: 'warn',
  });
  const start = async () => startFloorplanProcess({ ...env(), PORT: String(await freePort()), DEMO_PORT: String(await freePort()) }, 60_000);

  async function floors(args: readonly string[]): Promise<CliRun> {
    return runFloorsCli(args, npmStartEnv(env()));
  }

  async function layoutVersion(): Promise<string> {
    const res = await fetch(`${floorplan.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: '{ floorPanel(scene: "cart-bottom-sheet") { layoutVersion } }' }),
    });
    return ((await res.json()) as { data: { floorPanel: { layoutVersion: string } } }).data.floorPanel.layoutVersion;
  }

  const readyz = async () => ((await (await fetch(`${floorplan.url}/readyz`)).json()) as { layouts: Record<string, unknown> }).layouts;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'floorplan-embedded-'));
    cpSync('floors', join(dir, 'next'), { recursive: true });
    const cart = join(dir, 'next', 'cart-bottom-sheet.yaml');
    writeFileSync(cart, readFileSync(cart, 'utf8').replace('version: "2026-11-21.1"', 'version: "2026-12-01.1"'));
    token = await signDemoToken(loadServiceConfig({ env: {} }).auth, { userId: 'u1001' });
    floorplan = await start();
  }, 90_000);

  afterAll(async () => {
    await floorplan?.terminate();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('publishes, rolls back and keeps history through the running process, and serves the live revision after a restart', async () => {
    // Nothing published yet: the store is not even opened (no initdb for a Floorplan nobody publishes to).
    expect(await readyz()).toEqual({ source: 'file', revision: 0, store: 'unopened' });

    const first = await floors(['publish', '--server', floorplan.url, '--message', 'baseline']);
    expect(first.stderr).toBe('');
    expect(first.stdout).toContain('published revision 1 (live) by admin "baseline"; parent none');
    const next = await floors(['publish', '--dir', join(dir, 'next'), '--server', floorplan.url, '--author', 'alice']);
    expect(next.stdout).toContain('published revision 2 (live) by alice');
    expect(await layoutVersion()).toBe('2026-12-01.1');

    // Only the process holding the folder may open it: the command says how to go through it.
    const direct = await floors(['history']);
    expect(direct.code).toBe(2);
    expect(direct.stderr).toContain(`is in use by process ${floorplan.child.pid}`);
    expect(direct.stderr).toContain('add -- --server http://127.0.0.1:4000');
    // With a management port the admin API is there, not on the apps' port (server.managementPort).
    const managed = await runFloorsCli(['history'], npmStartEnv({ ...env(), MANAGEMENT_PORT: '9464' }));
    expect(managed.code).toBe(2);
    expect(managed.stderr).toContain('add -- --server http://127.0.0.1:9464');

    const rollback = await floors(['rollback', '1', '--server', floorplan.url]);
    expect(rollback.stdout).toContain('rolled back as revision 3 (live) by admin "rollback to revision 1"; parent 2, restores revision 1');
    expect(await layoutVersion()).toBe('2026-11-21.1');
    const history = await floors(['history', '--server', floorplan.url]);
    expect(history.stdout.split('\n').filter(Boolean).map((l) => l.slice(0, 3))).toEqual(['* 3', '  2', '  1']);

    expect(await floorplan.terminate()).toBe(0);
    floorplan = await start();
    expect(await layoutVersion()).toBe('2026-11-21.1');
    expect(await readyz()).toEqual({ source: 'store', revision: 3, store: 'up' });
  }, 240_000);

  it('serves a candidate to its allow-list at once with no Redis, still after a restart, until it is aborted', async () => {
    const candidate = await floors(['candidate', 'cart-bottom-sheet', '--revision', '2', '--allow', 'u1001', '--server', floorplan.url]);
    expect(candidate.stderr).toBe('');
    expect(candidate.stdout).toContain('layoutVersion for its users: 2026-12-01.1+candidate.r2');
    // This process recorded it, so it serves it without waiting for its store poll.
    expect(await layoutVersion()).toBe('2026-12-01.1+candidate.r2');

    expect(await floorplan.terminate()).toBe(0);
    floorplan = await start();
    expect(await layoutVersion()).toBe('2026-12-01.1+candidate.r2');

    const aborted = await floors(['abort', 'cart-bottom-sheet', '--server', floorplan.url]);
    expect(aborted.stdout).toContain('aborted the candidate of cart-bottom-sheet (revision 2): its users get the live layout');
    expect(await layoutVersion()).toBe('2026-11-21.1');
  }, 240_000);
});

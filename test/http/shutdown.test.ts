import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import type { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { loadServiceConfig } from '../../src/config/service-config.ts';
import { defaultBuilders } from '../../src/floors/builders/index.ts';
import { createBuilderRegistry } from '../../src/floors/registry.ts';
import { signDemoToken } from '../../src/viewer/demo-token.ts';
import { PANEL_QUERY, startHarness, type PanelResult } from '../support/harness.ts';
import { loggerInto } from '../support/log-lines.ts';
import { freePort, npmStartEnv } from '../support/processes.ts';

/**
 * How long `npm start` may take to serve, in 100 ms polls. A wait, not a speed assertion: tsx
 * compiles src/ at start, which takes ~3 s on a quiet machine and 10–20 s on a loaded one.
 */
const STARTUP_POLLS = 450;
const PROCESS_TEST_TIMEOUT_MS = 60_000;

/** `npm start` (as node runs it) on free ports with `env`, once it serves; `output()` is its stdout and stderr so far. */
async function startServing(env: Record<string, string>): Promise<{ child: ChildProcessByStdio<null, Readable, Readable>; port: number; output: () => string }> {
  const [port, demoPort] = [await freePort(), await freePort()];
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: npmStartEnv({ PORT: String(port), DEMO_PORT: String(demoPort), LOG_LEVEL: 'info', ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  for (let i = 0; i < STARTUP_POLLS && !output.includes('serving GraphQL at'); i++) await new Promise((r) => setTimeout(r, 100));
  return { child, port, output: () => output };
}

/** u1001's cart panel from the server on `port`. */
async function panelRequest(port: number): Promise<Response> {
  const token = await signDemoToken(loadServiceConfig({ env: {} }).auth, { userId: 'u1001' });
  return fetch(`http://127.0.0.1:${port}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: PANEL_QUERY, variables: { scene: 'cart-bottom-sheet' } }),
  });
}

describe('npm start as a process', () => {
  it('serves the demo on embedded defaults and drains an in-flight request on SIGTERM, exiting 0', async () => {
    const { child, port, output } = await startServing({ DEMO_FAULTS: 'settlement:latency:250', REQUEST_DEADLINE_MS: '2000' });
    try {
      expect(output()).toContain(`serving GraphQL at http://127.0.0.1:${port}/graphql`);

      const inFlight = panelRequest(port);
      await new Promise((r) => setTimeout(r, 100));
      child.kill('SIGTERM');

      const res = await inFlight;
      expect(res.status).toBe(200);
      const body = (await res.json()) as { data: PanelResult };
      expect(body.data.floorPanel.degraded).toBe(false);
      expect(body.data.floorPanel.floors[0]).toMatchObject({ code: 'spze', priceText: '¥20.90' });

      const [code] = (await once(child, 'exit')) as [number | null];
      expect(code).toBe(0);
      expect(output()).toContain('floorplan stopped');
      await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, PROCESS_TEST_TIMEOUT_MS);

  it('exits 0 promptly on SIGTERM when idle', async () => {
    const { child, output } = await startServing({});
    try {
      child.kill('SIGTERM');
      const exited = once(child, 'exit') as Promise<[number | null]>;
      const timedOut = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 8000));
      const result = await Promise.race([exited, timedOut]);
      expect(result).toEqual([0, null]);
      expect(output()).toContain('floorplan stopped');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, PROCESS_TEST_TIMEOUT_MS);

  it('exits at once on a second SIGINT, naming the requests it gives up on, rather than waiting out the grace', async () => {
    // A panel that takes 8 s: the first signal waits for it (the grace is 10 s), a second must not.
    const { child, port, output } = await startServing({ DEMO_FAULTS: 'settlement:latency:8000', REQUEST_DEADLINE_MS: '20000', UPSTREAM_SETTLEMENT_TIMEOUT_MS: '20000' });
    try {
      const inFlight = panelRequest(port).catch((error: unknown) => error);
      await new Promise((r) => setTimeout(r, 300));
      const exited = once(child, 'exit') as Promise<[number | null]>;
      child.kill('SIGINT');
      await new Promise((r) => setTimeout(r, 500));
      expect(child.exitCode, 'the first signal waits for the in-flight panel').toBeNull();
      child.kill('SIGINT');
      const timedOut = new Promise<'still running 5 s after the second signal'>((r) => setTimeout(() => r('still running 5 s after the second signal'), 5000));
      expect(await Promise.race([exited, timedOut])).toEqual([130, null]);
      expect(output()).toContain('second SIGINT: exiting now');
      expect(output()).toMatch(/"inFlight":1\b/);
      expect(await inFlight).toBeInstanceOf(Error);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, PROCESS_TEST_TIMEOUT_MS);

  it('stops, draining, when a supervisor sends SIGTERM to `npm start` itself, not only to node', async () => {
    const [port, demoPort] = [await freePort(), await freePort()];
    // npm passes the signal to its script's process; through a shell that does not pass it on, node kept serving, orphaned, on the port.
    const npm = spawn('npm', ['start'], { env: npmStartEnv({ PORT: String(port), DEMO_PORT: String(demoPort), LOG_LEVEL: 'info' }), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    npm.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    npm.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      for (let i = 0; i < STARTUP_POLLS && !output.includes('serving GraphQL at'); i++) await new Promise((r) => setTimeout(r, 100));
      expect(output).toContain(`serving GraphQL at http://127.0.0.1:${port}/graphql`);
      npm.kill('SIGTERM');
      let serving = true;
      for (let i = 0; i < 80 && serving; i++) {
        await new Promise((r) => setTimeout(r, 100));
        serving = await fetch(`http://127.0.0.1:${port}/healthz`).then(() => true, () => false);
      }
      expect(serving, 'still serving 8 s after npm got SIGTERM').toBe(false);
      expect(output).toContain('floorplan stopped');
    } finally {
      if (npm.exitCode === null) npm.kill('SIGKILL');
      // The server's own pid, from its log lines: never leave it serving when this fails.
      const pid = Number(/"pid":(\d+)/.exec(output)?.[1]);
      if (pid > 0) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
    }
  }, PROCESS_TEST_TIMEOUT_MS);

  it('refuses to start on a broken floors file, naming the file and line', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'floorplan-floors-'));
    writeFileSync(join(dir, 'cart-bottom-sheet.yaml'), 'scene: cart-bottom-sheet\nfloors:\n  - code: spze\n    builder: spzee\n    name: { zh-CN: 商品总额, en: Goods }\n    sort: 10\n');
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: npmStartEnv({ PORT: String(await freePort()), DEMO_PORT: String(await freePort()), FLOORS_DIR: dir }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(1);
    // Every shipped builder, sorted (the list itself is held by test/floors/registry.test.ts).
    const known = createBuilderRegistry(defaultBuilders).names.join(', ');
    expect(stderr).toContain(`\`floors[0].builder\` must name a known builder (${known}), but got: "spzee"`);
    expect(stderr).toMatch(/cart-bottom-sheet\.yaml:4\)/);
  }, PROCESS_TEST_TIMEOUT_MS);
});

describe('shutdown past server.shutdownGraceMs', () => {
  // The grace ran out and the requests still open were cut off, with nothing logged but the info
  // line "floorplan stopped": a deploy that dropped requests looked, in the log, like a clean one.
  it('warns how many connections it cut off mid-request, and says nothing of it when none was', async () => {
    const lines: Array<{ level: number; msg: string; [key: string]: unknown }> = [];
    const h = await startHarness({ config: { server: { shutdownGraceMs: 300 } }, deps: { logger: loggerInto(lines, 'info') } });
    // A request whose body never ends (a client on a slow uplink): in flight until the grace is out.
    const socket = connect(h.server.port, '127.0.0.1');
    await once(socket, 'connect');
    socket.write('POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"query"');
    socket.on('error', () => undefined);
    const closedByServer = once(socket, 'close');
    await new Promise((r) => setTimeout(r, 200));
    await h.close();
    await closedByServer;
    const cut = lines.filter((l) => l.msg.startsWith('shutdownGraceMs'));
    expect(cut).toEqual([
      expect.objectContaining({ level: 40, connections: 1, shutdownGraceMs: 300, msg: 'shutdownGraceMs (300 ms) ran out with 1 connection(s) still in a request: cut off' }),
    ]);
    expect(lines.at(-1)?.msg).toBe('floorplan stopped');

    const quiet: Array<{ msg: string }> = [];
    const idle = await startHarness({ config: { server: { shutdownGraceMs: 300 } }, deps: { logger: loggerInto(quiet, 'info') } });
    await idle.close();
    expect(quiet.map((l) => l.msg)).not.toContainEqual(expect.stringMatching(/^shutdownGraceMs/));
  }, PROCESS_TEST_TIMEOUT_MS);
});

/**
 * What an operator sees when Floorplan cannot start because of a setting: `npm start`'s own
 * process, its stderr and exit code. The message names the setting, its variable and its value.
 */
import { spawn } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UPSTREAMS } from '../../src/upstreams/registry.ts';
import { freePort, npmStartEnv } from '../support/processes.ts';

const ROOT = join(import.meta.dirname, '..', '..');

/** `npm start` with `env`, until it exits; one still running after 30 s (it started) is killed: code null. */
function start(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: ROOT, env: npmStartEnv(env), stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const started = setTimeout(() => child.kill('SIGKILL'), 30_000);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(started);
      resolve({ code, stderr });
    });
  });
}

describe('floorplan refusing to start', () => {
  it('names server.host and HOST, with the value, when the host name does not resolve', async () => {
    // .invalid never resolves (RFC 2606).
    const run = await start({ HOST: 'floorplan.invalid', PORT: String(await freePort()), DEMO_UPSTREAMS: 'off', LOG_LEVEL: 'silent' });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /^floorplan failed to start: Invalid service config:\n- `server\.host` must be an address of this machine or a name it resolves to one, but got: "floorplan\.invalid" \(config server\.host, HOST\): getaddrinfo (ENOTFOUND|EAI_AGAIN) floorplan\.invalid\n$/,
    );
  }, 60_000);

  // Each of the three ports answered the same "listen EADDRINUSE: address already in use
  // 127.0.0.1:<port>", and which setting held it (the management port beside the apps' one, or the
  // demo upstreams') was for the operator to guess.
  it('names the port setting and its variable when another process holds the port', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const taken = (busy.address() as AddressInfo).port;
    try {
      const refused = (setting: string, variable: string) =>
        `floorplan failed to start: Invalid service config:\n- \`${setting}\` must be a port no other process listens on at 127.0.0.1, but got: ${taken} (config ${setting}, ${variable}): listen EADDRINUSE: address already in use 127.0.0.1:${taken}\n`;
      const management = await start({ HOST: '127.0.0.1', PORT: String(await freePort()), MANAGEMENT_PORT: String(taken), DEMO_UPSTREAMS: 'off', LAYOUT_STORE: 'none', LOG_LEVEL: 'silent' });
      expect(management).toEqual({ code: 1, stderr: refused('server.managementPort', 'MANAGEMENT_PORT') });
      const apps = await start({ HOST: '127.0.0.1', PORT: String(taken), DEMO_UPSTREAMS: 'off', LAYOUT_STORE: 'none', LOG_LEVEL: 'silent' });
      expect(apps).toEqual({ code: 1, stderr: refused('server.port', 'PORT') });
      const demo = await start({ HOST: '127.0.0.1', PORT: String(await freePort()), DEMO_PORT: String(taken), LAYOUT_STORE: 'none', LOG_LEVEL: 'silent' });
      expect(demo).toEqual({ code: 1, stderr: refused('demo.port', 'DEMO_PORT') });
    } finally {
      busy.close();
    }
  }, 90_000);

  it('names auth.jwksUrl and JWT_JWKS_URL when production is started without it, rather than serve 503 to every user', async () => {
    const upstreams = Object.fromEntries(UPSTREAMS.map((name) => [`UPSTREAM_${name.toUpperCase()}_URL`, `http://127.0.0.1:${name.length}/${name}`]));
    const run = await start({
      FLOORPLAN_ENV: 'production',
      ...upstreams,
      LAYOUT_STORE_URL: 'postgres://floorplan@127.0.0.1:1/floorplan',
      HOST: '127.0.0.1',
      PORT: String(await freePort()),
      MANAGEMENT_PORT: String(await freePort()),
      LOG_LEVEL: 'silent',
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /^floorplan failed to start: Invalid service config:\n- `auth\.jwksUrl` must be an http:\/\/ or https:\/\/ URL when auth\.mode is jwks, but got: "" \(config\/production\.yaml:\d+; set it with JWT_JWKS_URL\)\n$/,
    );
  }, 60_000);

  it('names redis.url and REDIS_URL when its path is not a database number, rather than crash on ioredis\' SELECT NaN', async () => {
    const run = await start({ REDIS_URL: 'redis://127.0.0.1:1/abc', PORT: String(await freePort()), DEMO_PORT: String(await freePort()), LOG_LEVEL: 'silent' });
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      'floorplan failed to start: Invalid service config:\n- `redis.url` must have a database number as its path (/0, /1, …: fewer than the server\'s `databases`, 16 by default), but got: "redis://127.0.0.1:1/abc" (set by REDIS_URL)\n',
    );
  }, 60_000);

  // Floorplan sends each call to the URL's origin and path: a query string (an API key, say) never
  // reached the upstream, and the "floorplan listening" line logged it whole.
  it('names upstreams.cart.baseUrl and UPSTREAM_CART_URL when it has a query string, without printing the query', async () => {
    const run = await start({ UPSTREAM_CART_URL: 'http://127.0.0.1:1/cart?key=S3cretKey', PORT: String(await freePort()), DEMO_UPSTREAMS: 'off', LAYOUT_STORE: 'none', LOG_LEVEL: 'silent' });
    expect(run).toEqual({
      code: 1,
      stderr:
        'floorplan failed to start: Invalid service config:\n- `upstreams.cart.baseUrl` must be an origin and a path only, such as "http://cart.internal/cart": Floorplan appends each call\'s path to it and sends nothing else of it, but got: a URL with a query string, "http://127.0.0.1:1/cart?***" (set by UPSTREAM_CART_URL)\n',
    });
  }, 60_000);

  it('names an operator\'s wrong role without printing the credential beside it', async () => {
    const operators = JSON.stringify({ vera: { token: 'vera-real-secret-credential-1', role: 'Viewer' } });
    const run = await start({ ADMIN_OPERATORS: operators, PORT: String(await freePort()), DEMO_UPSTREAMS: 'off', LOG_LEVEL: 'silent' });
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      'floorplan failed to start: Invalid service config:\n- `admin.operators.vera.role` must be one of "viewer", "publisher", but got: "Viewer" (set by ADMIN_OPERATORS)\n',
    );
  }, 60_000);
});

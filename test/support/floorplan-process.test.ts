/** The harness that starts Floorplan as a process: a port taken before the process binds it. */
import { once } from 'node:events';
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startFloorplanProcess, type FloorplanProcess } from './floorplan-process.ts';
import { freePort } from './processes.ts';

describe('startFloorplanProcess', () => {
  let floorplan: FloorplanProcess | undefined;
  const squatter = createServer();
  afterEach(async () => {
    await floorplan?.terminate();
    if (squatter.listening) squatter.close();
  });

  it('starts on another port when the one it was given is taken by the time the process binds it', async () => {
    const taken = await freePort();
    squatter.listen(taken, '127.0.0.1');
    await once(squatter, 'listening');
    floorplan = await startFloorplanProcess({ PORT: String(taken), DEMO_PORT: String(await freePort()), LOG_LEVEL: 'warn' });
    expect(floorplan.url).not.toBe(`http://127.0.0.1:${taken}`);
    expect((await floorplan.fetch('/readyz')).status).toBe(200);
  }, 60_000);
});

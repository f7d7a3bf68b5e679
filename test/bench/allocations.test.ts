/**
 * bench/allocations.ts's sampler and tally, on a real process: garbage a function made between
 * two SIGUSR2s is counted for that function's file (what `node --heap-prof` would miss, since it
 * keeps only what is alive at the end), and allocations made outside the window are not.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { layerOf, tallyProfile, type AllocationTally } from '../../bench/allocations.ts';

const SAMPLER = fileURLToPath(new URL('../../bench/allocation-sampler.ts', import.meta.url));
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A process that makes `mb` MB of short-lived arrays in `churn()` each time it reads a line. */
const CHURN = `
import { createInterface } from 'node:readline';
function churn(mb) {
  let kept = 0;
  for (let i = 0; i < mb * 1024; i++) kept += new Array(126).fill(i).length; // ~1 KiB each, garbage at once
  return kept;
}
function outside(mb) { return churn(mb); }
createInterface({ input: process.stdin }).on('line', (line) => { const [what, mb] = line.split(' '); (what === 'churn' ? churn : outside)(Number(mb)); process.stdout.write('done\\n'); });
process.stdout.write('ready\\n');
`;

describe('bench/allocations: the allocation sampler', () => {
  it('counts the garbage made between two SIGUSR2s, charged to the file that made it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'allocations-test-'));
    dirs.push(dir);
    const script = join(dir, 'churn.mjs');
    writeFileSync(script, CHURN);
    const child = spawn(process.execPath, ['--import', SAMPLER, script], { env: { ...process.env, ALLOCATION_PROFILE_DIR: dir }, stdio: ['pipe', 'pipe', 'inherit'] });
    try {
      const lines: string[] = [];
      child.stdout.on('data', (chunk: Buffer) => lines.push(...chunk.toString().split('\n').filter(Boolean)));
      const waitFor = async (count: number) => {
        for (let i = 0; i < 200 && lines.length < count; i++) await sleep(50);
        expect(lines.length).toBe(count);
      };
      await waitFor(1);
      // 64 MB before the window: not counted.
      child.stdin.write('outside 64\n');
      await waitFor(2);
      child.kill('SIGUSR2');
      await sleep(200);
      child.stdin.write('churn 16\n');
      await waitFor(3);
      child.kill('SIGUSR2');
      const path = join(dir, `${child.pid}-1.heapprofile`);
      for (let i = 0; i < 200 && !existsSync(path); i++) await sleep(50);
      const tally: AllocationTally = { bytes: 0, answers: 1, byLayer: new Map(), bySite: new Map() };
      tallyProfile((JSON.parse(readFileSync(path, 'utf8')) as { head: Parameters<typeof tallyProfile>[0] }).head, tally);
      const ours = tally.byLayer.get(pathToFileURL(script).href) ?? 0;
      // ~16 MiB of arrays (sampled every 4 KiB, so not exact), all of it collected before the profile was written.
      expect(ours).toBeGreaterThan(12 * 1024 * 1024);
      expect(ours).toBeLessThan(24 * 1024 * 1024);
      expect(ours / tally.bytes).toBeGreaterThan(0.9);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('names the layer of a frame: a package, a folder of src/, Node.js itself, or nothing for V8 built-ins', () => {
    expect(layerOf('file:///app/node_modules/zod/v4/core/schemas.js')).toBe('zod');
    expect(layerOf('file:///app/node_modules/@opentelemetry/sdk-trace/build/src/Span.js')).toBe('@opentelemetry/sdk-trace');
    expect(layerOf('file:///app/dist/src/upstreams/json-http.js')).toBe('src/upstreams');
    expect(layerOf('file:///app/src/upstreams/json-http.ts'), 'run through tsx').toBe('src/upstreams');
    expect(layerOf('file:///app/dist/src/app.js')).toBe('src (top level)');
    expect(layerOf('file:///app/src/app.ts')).toBe('src (top level)');
    expect(layerOf('file:///app/dist/bench/baselines/upstream-floor.js')).toBe('bench/baselines/upstream-floor.ts');
    expect(layerOf('file:///app/bench/baselines/peer-sheet.ts')).toBe('bench/baselines/peer-sheet.ts');
    expect(layerOf('node:net')).toBe('Node.js (HTTP, net, streams, timers)');
    expect(layerOf('')).toBeUndefined();
  });
});

/**
 * bench/allocations.ts's sampler and tally, on a real process: garbage a function made between
 * two SIGUSR2s is counted for that function's file (what `node --heap-prof` would miss, since it
 * keeps only what is alive at the end), and allocations made outside the window are not; with
 * PROFILE_KIND=cpu, the same for CPU time.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { cpuTree, emptyTally, layerOf, sharedSideBySide, tallyProfile, type AllocationTally } from '../../bench/allocations.ts';

const SAMPLER = fileURLToPath(new URL('../../bench/profile-sampler.ts', import.meta.url));
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
const held = [];
function hold(mb) { for (let i = 0; i < mb * 1024; i++) held.push(new Array(126).fill(i)); return held.length; } // ~1 KiB each, alive to the end
function spin(ms) {
  const until = Date.now() + ms;
  let n = 0;
  while (Date.now() < until) n++;
  return n;
}
function spinOutside(ms) { return spin(ms); }
function promise(n) { for (let i = 0; i < n; i++) Promise.resolve(i).then((v) => v); } // two promises each: resolve's and then's
function promiseOutside(n) { return promise(n); }
const work = { churn, outside, spin, spinOutside, hold, promise, promiseOutside };
createInterface({ input: process.stdin }).on('line', (line) => { const [what, n] = line.split(' '); work[what](Number(n)); process.stdout.write('done\\n'); });
process.stdout.write('ready\\n');
`;

/**
 * Runs CHURN under the sampler: `before` outside the window, `inside` between the two SIGUSR2s;
 * returns the window's tally.
 */
async function profiledWindow(kind: 'allocations' | 'promoted' | 'cpu' | 'promises', before: string, inside: string): Promise<{ tally: AllocationTally; script: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'allocations-test-'));
  dirs.push(dir);
  const script = join(dir, 'churn.mjs');
  writeFileSync(script, CHURN);
  const flags = kind === 'promoted' ? ['--expose-gc'] : [];
  const child = spawn(process.execPath, [...flags, '--import', SAMPLER, script], { env: { ...process.env, ALLOCATION_PROFILE_DIR: dir, PROFILE_KIND: kind }, stdio: ['pipe', 'pipe', 'inherit'] });
  try {
    const lines: string[] = [];
    child.stdout.on('data', (chunk: Buffer) => lines.push(...chunk.toString().split('\n').filter(Boolean)));
    const waitFor = async (count: number) => {
      for (let i = 0; i < 200 && lines.length < count; i++) await sleep(50);
      expect(lines.length).toBe(count);
    };
    await waitFor(1);
    child.stdin.write(`${before}\n`);
    await waitFor(2);
    child.kill('SIGUSR2');
    await sleep(200);
    for (const [i, step] of inside.split(';').entries()) {
      child.stdin.write(`${step}\n`);
      await waitFor(3 + i);
    }
    child.kill('SIGUSR2');
    const path = join(dir, `${child.pid}-1.${kind === 'cpu' ? 'cpuprofile' : kind === 'promises' ? 'promiseprofile' : 'heapprofile'}`);
    for (let i = 0; i < 200 && !existsSync(path); i++) await sleep(50);
    const tally: AllocationTally = { ...emptyTally(), answers: 1 };
    const profile: unknown = JSON.parse(readFileSync(path, 'utf8'));
    tallyProfile(kind === 'cpu' ? cpuTree(profile as Parameters<typeof cpuTree>[0]) : (profile as { head: Parameters<typeof tallyProfile>[0] }).head, tally);
    return { tally, script };
  } finally {
    child.kill('SIGKILL');
  }
}

describe('bench/allocations: the profile sampler', () => {
  it('counts the garbage made between two SIGUSR2s, charged to the file that made it', async () => {
    // 64 MB before the window: not counted.
    const { tally, script } = await profiledWindow('allocations', 'outside 64', 'churn 16');
    const ours = tally.byLayer.get(pathToFileURL(script).href) ?? 0;
    // ~16 MiB of arrays (sampled every 4 KiB, so not exact), all of it collected before the profile was written.
    expect(ours).toBeGreaterThan(12 * 1024 * 1024);
    expect(ours).toBeLessThan(24 * 1024 * 1024);
    expect(ours / tally.bytes).toBeGreaterThan(0.9);
  });

  it('with PROFILE_KIND=promoted, counts only what outlived the young generation, not the garbage scavenges freed', async () => {
    // In the window: 16 MB of garbage, and 4 MB the script keeps (as a cache or a stuck request would).
    const { tally, script } = await profiledWindow('promoted', 'outside 8', 'churn 16;hold 4');
    const ours = tally.byLayer.get(pathToFileURL(script).href) ?? 0;
    expect(ours, 'bytes charged to the script').toBeGreaterThan(3 * 1024 * 1024);
    expect(ours, 'bytes charged to the script').toBeLessThan(8 * 1024 * 1024);
  });

  it('with PROFILE_KIND=cpu, counts the time spent between two SIGUSR2s, charged to the file that spent it', async () => {
    // 1.5 s of spinning before the window, 0.4 s in it; the idle time around it is left out.
    const { tally, script } = await profiledWindow('cpu', 'spinOutside 1500', 'spin 400');
    const ours = tally.byLayer.get(pathToFileURL(script).href) ?? 0;
    // Wall-clock spinning: a busy machine may take the core away for part of it, never add 1.5 s.
    expect(ours / 1000, 'ms charged to the script').toBeGreaterThan(250);
    expect(ours / 1000, 'ms charged to the script').toBeLessThan(1000);
    expect(ours / tally.bytes, 'share of the window').toBeGreaterThan(0.8);
  });

  it('with PROFILE_KIND=promises, counts the promises created between two SIGUSR2s, by the function that created them', async () => {
    const { tally, script } = await profiledWindow('promises', 'promiseOutside 5000', 'promise 300');
    // 300 × (Promise.resolve's + then's); the 10 000 made before the window are not counted.
    expect(tally.byLayer.get(pathToFileURL(script).href), 'promises charged to the script').toBe(600);
    expect(tally.bytes, 'every promise in the window').toBeLessThan(700);
    // Each is charged to the built-in that made it, or to promise() itself once the JIT has inlined
    // the built-in (CI saw 206 of Promise.resolve's 300 under `resolve`); never to promiseOutside().
    const by = (prefix: string) => [...tally.bySharedFunction].filter(([name]) => name.startsWith(prefix)).reduce((sum, [, n]) => sum + n, 0);
    expect(by('resolve (V8)') + by('then (V8)') + by('promise ('), 'made by promise() and the built-ins it calls').toBe(600);
    expect(by('promiseOutside ('), 'made before the window').toBe(0);
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

  it('reads a CPU profile as time per node, idle left out, and charges promise jobs to V8 rather than to Node.js', () => {
    const frame = (functionName: string, url: string) => ({ functionName, url, lineNumber: 0, columnNumber: 0, scriptId: '0' });
    const tree = cpuTree({
      startTime: 0,
      endTime: 6000,
      nodes: [
        { id: 1, callFrame: frame('(root)', ''), children: [2, 3, 4] },
        { id: 2, callFrame: frame('processTicksAndRejections', 'node:internal/process/task_queues'), children: [5] },
        { id: 3, callFrame: frame('(idle)', '') },
        { id: 4, callFrame: frame('(garbage collector)', '') },
        { id: 5, callFrame: frame('runMicrotasks', ''), children: [6] },
        { id: 6, callFrame: frame('call', 'file:///app/dist/src/upstreams/json-http.js') },
      ],
      samples: [6, 6, 5, 3, 3, 4],
    });
    const tally: AllocationTally = { ...emptyTally(), answers: 1 };
    tallyProfile(tree, tally);
    // Six samples over 6 ms: 1 ms each; the two idle ones count for nothing.
    expect(tally.bytes).toBe(4000);
    expect(Object.fromEntries(tally.byLayer)).toEqual({ 'src/upstreams': 2000, 'V8 runMicrotasks': 1000, 'V8 (garbage collector)': 1000 });
    // The server's own code is not shared code; V8's own work is, by its name.
    expect(Object.fromEntries(tally.bySharedFunction)).toEqual({ 'runMicrotasks (V8)': 1000, '(garbage collector) (V8)': 1000 });
  });

  it('puts shared code side by side, per request, sorted by how much more Floorplan spends in it than the cheapest other server that runs it', () => {
    const frame = (functionName: string, url: string) => ({ functionName, url, lineNumber: 787, columnNumber: 0, scriptId: '0' });
    const resume = frame('_resume', 'file:///app/node_modules/undici/lib/dispatcher/client.js');
    const parse = frame('parse', 'file:///app/node_modules/secure-json-parse/index.js');
    const retry = frame('execute', 'file:///app/node_modules/cockatiel/dist/RetryPolicy.js');
    /** A server's tally from leaf samples: [frame, µs] pairs, under a root. */
    const serverTally = (answers: number, leaves: ReadonlyArray<readonly [ReturnType<typeof frame>, number]>): AllocationTally => {
      const tally: AllocationTally = { ...emptyTally(), answers };
      tallyProfile({ callFrame: frame('(root)', ''), selfSize: 0, children: leaves.map(([callFrame, us]) => ({ callFrame, selfSize: us, children: [] })) }, tally);
      return tally;
    };
    const tallies = new Map([
      // 100 answers: _resume 9 µs each, parse 1, cockatiel 3, its own code 50.
      ['Floorplan', serverTally(100, [[resume, 900], [parse, 100], [retry, 300], [frame('call', 'file:///app/dist/src/upstreams/json-http.js'), 5000]])],
      ['(d) upstream calls alone', serverTally(200, [[resume, 400]])],
      ['(f) Mercurius, tuned', serverTally(50, [[resume, 150], [parse, 150]])],
    ]);
    expect(sharedSideBySide(tallies, 5)).toEqual([
      { name: '_resume (undici/lib/dispatcher/client.js:788)', perRequest: [9, 2, 3], floorplanExcess: 7 },
      // Only Floorplan runs it: all of it is the excess.
      { name: 'execute (cockatiel/dist/RetryPolicy.js:788)', perRequest: [3, 0, 0], floorplanExcess: 3 },
      // (d) never parses this way: its 0 says nothing of the price, so (f)'s 3 is the cheapest, and Floorplan spends less.
      { name: 'parse (secure-json-parse/index.js:788)', perRequest: [1, 0, 3], floorplanExcess: -2 },
    ]);
    expect(sharedSideBySide(tallies, 1)).toHaveLength(1);
  });
});

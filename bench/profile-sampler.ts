/**
 * Preloaded into a server by bench/allocations.ts (`node --import …/bench/profile-sampler.ts`):
 * SIGUSR2 starts one of V8's sampling profilers, the next SIGUSR2 stops it and writes the
 * profile to `$ALLOCATION_PROFILE_DIR/<pid>-<n>.heapprofile` (or `.cpuprofile`), and so on.
 *
 * `PROFILE_KIND=allocations` (the default): the sampling heap profiler, every allocation
 * included, also what the next scavenge or mark-compact frees (`includeObjectsCollectedBy…`):
 * `node --heap-prof` keeps only what is still alive when it writes, which says nothing about
 * the garbage a request leaves. `PROFILE_KIND=promoted` (node needs `--expose-gc`): the same
 * profiler, but only what outlived the young generation — promoted to the old space, where it
 * fills toward the next mark-compact, whether it died there or is still alive — and not what a
 * scavenge freed; two scavenges are forced before the profile is written, so objects merely not
 * yet scavenged are not counted. `PROFILE_KIND=cpu`: the CPU profiler, one sample every
 * 1 ms (`node --cpu-prof` would profile the whole life of the process, start-up and warm-up
 * included, where this profiles one measured window). `PROFILE_KIND=promises`: no profiler of
 * V8's, but its promise hook: every promise created in the window counted once, by the stack that
 * created it (`<pid>-<n>.promiseprofile`, the heap profile's tree with a count for a size). Each
 * `await` counts as one too: while a promise hook is installed V8 makes a throwaway promise per
 * await (none without). Each is at least one microtask job, so this says which layer's awaits
 * and `then`s make V8's microtask loop busy. Capturing a stack per promise slows the server several
 * times over: read the counts, not the throughput.
 *
 * Written by hand because no package does this: it is a few calls of Node's own inspector.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';
import { promiseHooks } from 'node:v8';

const dir = process.env['ALLOCATION_PROFILE_DIR'];
if (dir === undefined) throw new Error('profile-sampler: ALLOCATION_PROFILE_DIR is not set');
const kind = process.env['PROFILE_KIND'] ?? 'allocations';
if (kind !== 'allocations' && kind !== 'cpu' && kind !== 'promoted' && kind !== 'promises') {
  throw new Error(`profile-sampler: PROFILE_KIND is allocations, promoted, cpu or promises, but got: ${kind}`);
}
if (kind === 'promoted' && typeof (globalThis as { gc?: unknown }).gc !== 'function') {
  throw new Error('profile-sampler: PROFILE_KIND=promoted needs node --expose-gc (two scavenges are forced before the profile is written)');
}
/** Bytes between allocation samples (V8's default is 32 KiB; smaller reads the small sites more exactly). */
const SAMPLING_INTERVAL_BYTES = 4096;
/** Microseconds between CPU samples: V8's default. Sampling more often costs a server with deeper stacks more (at 100 µs Floorplan read 2.3× (f), at 1 ms 1.7–1.9× in two runs). */
const SAMPLING_INTERVAL_US = 1000;

const session = new Session();
session.connect();
if (kind === 'cpu') {
  session.post('Profiler.enable', (error) => {
    if (error) process.stderr.write(`profile-sampler: could not enable the CPU profiler: ${error.message}\n`);
    else session.post('Profiler.setSamplingInterval', { interval: SAMPLING_INTERVAL_US });
  });
}
let sampling = false;
let written = 0;

/** A node of the promise tree: its frame, the promises created right there, its callees by frame. */
interface CountNode {
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  selfSize: number;
  readonly children: Map<string, CountNode>;
}

function countNode(functionName: string, url: string, lineNumber: number): CountNode {
  return { callFrame: { functionName, url, lineNumber }, selfSize: 0, children: new Map() };
}

/** Frames kept per promise: deep enough to reach the server's own code from undici's or Node's. */
const PROMISE_STACK_FRAMES = 32;
let promiseTree = countNode('(root)', '', 0);
let stopCounting: ReturnType<typeof promiseHooks.onInit> | undefined;

/** Counts a new promise under the stack that created it (the hook's own frame left out). */
function countPromise(): void {
  const savedPrepare = Error.prepareStackTrace;
  const savedLimit = Error.stackTraceLimit;
  Error.prepareStackTrace = (_error, sites) => sites;
  Error.stackTraceLimit = PROMISE_STACK_FRAMES;
  const holder: { stack?: unknown } = {};
  Error.captureStackTrace(holder, countPromise);
  const sites = holder.stack as NodeJS.CallSite[];
  Error.prepareStackTrace = savedPrepare;
  Error.stackTraceLimit = savedLimit;
  let node = promiseTree;
  // Outermost frame first, as V8's profiles nest; lines 0-based, as theirs are.
  for (let i = sites.length - 1; i >= 0; i--) {
    const site = sites[i]!;
    const functionName = site.getFunctionName() ?? '';
    const url = site.getFileName() ?? '';
    const lineNumber = (site.getLineNumber() ?? 1) - 1;
    const key = `${functionName}\u0000${url}\u0000${lineNumber}`;
    let child = node.children.get(key);
    if (child === undefined) node.children.set(key, (child = countNode(functionName, url, lineNumber)));
    node = child;
  }
  node.selfSize++;
}

/** The tree as a heap profile's `head`: children as arrays. */
function plainTree(node: CountNode): unknown {
  return { callFrame: node.callFrame, selfSize: node.selfSize, children: [...node.children.values()].map(plainTree) };
}

function write(profile: unknown): void {
  written++;
  const extension = kind === 'cpu' ? 'cpuprofile' : kind === 'promises' ? 'promiseprofile' : 'heapprofile';
  const path = join(dir as string, `${process.pid}-${written}.${extension}`);
  // Written under a temporary name first, so the reader never sees half a file.
  writeFileSync(`${path}.part`, JSON.stringify(profile));
  renameSync(`${path}.part`, path);
}

function start(): void {
  if (kind === 'promises') {
    promiseTree = countNode('(root)', '', 0);
    stopCounting = promiseHooks.onInit(countPromise);
    sampling = true;
    return;
  }
  const started = (error: Error | null) => {
    if (error) process.stderr.write(`profile-sampler: could not start: ${error.message}\n`);
    else sampling = true;
  };
  if (kind === 'cpu') session.post('Profiler.start', started);
  else session.post('HeapProfiler.startSampling', { samplingInterval: SAMPLING_INTERVAL_BYTES, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: kind === 'allocations' }, started);
}

function stop(): void {
  if (kind === 'promises') {
    stopCounting?.();
    sampling = false;
    write({ head: plainTree(promiseTree) });
    return;
  }
  const stopped = (error: Error | null, result: { profile: unknown } | undefined) => {
    sampling = false;
    if (error || result === undefined) {
      process.stderr.write(`profile-sampler: could not stop: ${error?.message ?? 'no profile'}\n`);
      return;
    }
    write(result.profile);
  };
  if (kind === 'cpu') session.post('Profiler.stop', stopped);
  else {
    // 'promoted': two scavenges first, so what the young generation still holds is either promoted (kept) or freed (dropped).
    // (gc exists: checked at start.)
    if (kind === 'promoted') for (let i = 0; i < 2; i++) (globalThis as unknown as { gc: (options: object) => void }).gc({ type: 'minor', execution: 'sync' });
    session.post('HeapProfiler.stopSampling', stopped);
  }
}

process.on('SIGUSR2', () => (sampling ? stop() : start()));

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
 * included, where this profiles one measured window).
 *
 * Written by hand because no package does this: it is a few calls of Node's own inspector.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

const dir = process.env['ALLOCATION_PROFILE_DIR'];
if (dir === undefined) throw new Error('profile-sampler: ALLOCATION_PROFILE_DIR is not set');
const kind = process.env['PROFILE_KIND'] ?? 'allocations';
if (kind !== 'allocations' && kind !== 'cpu' && kind !== 'promoted') throw new Error(`profile-sampler: PROFILE_KIND is allocations, promoted or cpu, but got: ${kind}`);
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

function start(): void {
  const started = (error: Error | null) => {
    if (error) process.stderr.write(`profile-sampler: could not start: ${error.message}\n`);
    else sampling = true;
  };
  if (kind === 'cpu') session.post('Profiler.start', started);
  else session.post('HeapProfiler.startSampling', { samplingInterval: SAMPLING_INTERVAL_BYTES, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: kind === 'allocations' }, started);
}

function stop(): void {
  const stopped = (error: Error | null, result: { profile: unknown } | undefined) => {
    sampling = false;
    if (error || result === undefined) {
      process.stderr.write(`profile-sampler: could not stop: ${error?.message ?? 'no profile'}\n`);
      return;
    }
    written++;
    const path = join(dir as string, `${process.pid}-${written}.${kind === 'cpu' ? 'cpuprofile' : 'heapprofile'}`);
    // Written under a temporary name first, so the reader never sees half a file.
    writeFileSync(`${path}.part`, JSON.stringify(result.profile));
    renameSync(`${path}.part`, path);
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

/**
 * Preloaded into a server by bench/allocations.ts (`node --import …/bench/allocation-sampler.ts`):
 * SIGUSR2 starts V8's sampling heap profiler, the next SIGUSR2 stops it and writes the profile
 * to `$ALLOCATION_PROFILE_DIR/<pid>-<n>.heapprofile`, and so on. It samples every allocation,
 * including what the next scavenge or mark-compact frees (`includeObjectsCollectedBy…`):
 * `node --heap-prof` keeps only what is still alive when it writes, which says nothing about
 * the garbage a request leaves.
 *
 * Written by hand because no package does this: it is a few calls of Node's own inspector.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

const dir = process.env['ALLOCATION_PROFILE_DIR'];
if (dir === undefined) throw new Error('allocation-sampler: ALLOCATION_PROFILE_DIR is not set');
/** Bytes between samples (V8's default is 32 KiB; smaller reads the small sites more exactly). */
const SAMPLING_INTERVAL_BYTES = 4096;

const session = new Session();
session.connect();
let sampling = false;
let written = 0;

process.on('SIGUSR2', () => {
  if (!sampling) {
    session.post('HeapProfiler.startSampling', { samplingInterval: SAMPLING_INTERVAL_BYTES, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true }, (error) => {
      if (error) process.stderr.write(`allocation-sampler: could not start: ${error.message}\n`);
      else sampling = true;
    });
    return;
  }
  session.post('HeapProfiler.stopSampling', (error, result) => {
    sampling = false;
    if (error) {
      process.stderr.write(`allocation-sampler: could not stop: ${error.message}\n`);
      return;
    }
    written++;
    const path = join(dir, `${process.pid}-${written}.heapprofile`);
    // Written under a temporary name first, so the reader never sees half a file.
    writeFileSync(`${path}.part`, JSON.stringify(result.profile));
    renameSync(`${path}.part`, path);
  });
});

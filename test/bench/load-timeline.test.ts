/**
 * The load worker's timeline (bench/load.ts, `timelineSeconds`): a fixed-rate window cut into
 * spans by when each request was due, so the soak can say in which minute a tail or a burst of
 * failed answers fell. Run as the bench runs it, a worker process given one job, against a
 * server on loopback that fails one stretch of its requests and slows another.
 */
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESULT_PREFIX, type LoadJob, type LoadResult } from '../../bench/load-job.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const RATE = 100;
const SPAN_SECONDS = 1;
const SLOW_MS = 250;

/**
 * Answers request k (its body says which: the job's variant k) with HTTP 500 for the second
 * hundred, after {@link SLOW_MS} for the third hundred, at once otherwise.
 */
let server: Server;
let url: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const { k } = JSON.parse(body) as { k: number };
      if (k >= RATE && k < 2 * RATE) res.writeHead(500).end('{}');
      else if (k >= 2 * RATE) setTimeout(() => res.writeHead(200).end('{}'), SLOW_MS);
      else res.writeHead(200).end('{}');
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
});

afterAll(() => new Promise<void>((done) => server.close(() => done())));

async function run(job: LoadJob): Promise<LoadResult & { error?: string }> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'load.ts'), JSON.stringify(job)], { cwd: ROOT });
  const line = stdout.split('\n').find((l) => l.startsWith(RESULT_PREFIX));
  if (line === undefined) throw new Error(`the worker printed no result:\n${stdout}`);
  return JSON.parse(line.slice(RESULT_PREFIX.length)) as LoadResult & { error?: string };
}

const job = (overrides: Partial<LoadJob> = {}): LoadJob => ({
  name: 'timeline',
  url,
  // One variant per request, so the server knows which request of the schedule it answers.
  variants: Array.from({ length: 3 * RATE }, (_, k) => ({ headers: { 'content-type': 'application/json' }, body: JSON.stringify({ k }) })),
  connections: 50,
  warmupRequests: 0,
  durationSeconds: 3,
  overallRate: RATE,
  pids: { server: process.pid },
  drainMs: 0,
  timelineSeconds: SPAN_SECONDS,
  ...overrides,
});

describe('the load worker, at a fixed rate with a timeline', () => {
  it('places the failed answers and the slow ones in the spans they were due in', async () => {
    const result = await run(job());
    expect(result.error).toBeUndefined();
    expect(result.completed).toBe(3 * RATE);
    const timeline = result.timeline ?? [];
    expect(timeline.map((span) => [span.fromSeconds, span.requests])).toEqual([
      [0, RATE],
      [1, RATE],
      [2, RATE],
    ]);
    const [first, second, third] = timeline as [NonNullable<LoadResult['timeline']>[number], NonNullable<LoadResult['timeline']>[number], NonNullable<LoadResult['timeline']>[number]];
    expect([first.non2xx, second.non2xx, third.non2xx]).toEqual([0, RATE, 0]);
    expect([first.ok, second.ok, third.ok]).toEqual([RATE, 0, RATE]);
    expect(first.errors + second.errors + third.errors).toBe(0);
    // A span without a 2xx answer has no latency (NaN, which JSON carries as null).
    expect([second.p50Ms, second.p99Ms, second.maxMs]).toEqual([null, null, null]);
    // The slow span's median is at least the server's delay; the first span's is well under it.
    expect(third.p50Ms).toBeGreaterThanOrEqual(SLOW_MS);
    expect(third.maxMs).toBeGreaterThanOrEqual(third.p99Ms);
    expect(first.p50Ms).toBeLessThan(SLOW_MS);
  });

  it('refuses a timeline on a closed loop, which has no due times', async () => {
    const { overallRate: _rate, ...closed } = job();
    const result = await run(closed);
    expect(result.error).toBe('job "timeline": timelineSeconds needs a fixed rate with uniform pacing and no classify');
  });
});

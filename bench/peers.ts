/**
 * The peers (issue 18): what a cart team would hand-write instead of Floorplan, answering the
 * same panel from the same demo upstreams with the same token handling —
 *
 *   (e) Apollo Server 5 `startStandaloneServer` + DataLoader + undici `request` + jose per request
 *       (bench/baselines/apollo-peer.ts);
 *   (f) Fastify + Mercurius `jit: 1` + DataLoader + undici `dispatch` + a verified-token LRU
 *       (bench/baselines/mercurius-peer.ts).
 *
 * Their price rows are written by hand (bench/baselines/peer-sheet.ts); before anything is
 * measured, {@link checkPeerFloors} proves each answers byte-identical floors to Floorplan's
 * for several demo users, so the comparison is of the same work. Also here: the targets the
 * issue sets against them and against (d), and the Markdown lines that describe the check.
 */
import type { BenchResults, SoakResult, Target } from './results.ts';
import { median } from './stats.ts';

export type PeerName = 'apolloPeer' | 'mercuriusPeer';

export const PEERS: ReadonlyArray<{ readonly key: PeerName; readonly label: string; readonly letter: string; readonly script: string }> = [
  { key: 'apolloPeer', label: 'peer: hand-written Apollo Server 5 standalone + DataLoader + undici request + jose per request', letter: 'e', script: 'apollo-peer' },
  {
    key: 'mercuriusPeer',
    label: 'peer: hand-written Fastify + Mercurius jit + DataLoader + undici dispatch + verified-token cache',
    letter: 'f',
    script: 'mercurius-peer',
  },
];

/** What the byte-identity check compared. */
export interface PeersPhase {
  /** One entry per request compared: the user, the request's variation, the floors in the answer. */
  readonly checked: ReadonlyArray<{ readonly userId: string; readonly variant: string; readonly floors: number }>;
}

/**
 * Users whose panels the check compares: the seed user, the named fixtures (满减, 新人立减, a
 * cart of 200 lines, amounts beyond 2^31, an empty cart, a non-member), generated non-members
 * and new customers, and some of the load's own users. Each must get a complete (not degraded)
 * panel from Floorplan.
 */
export function peerCheckUsers(loadUsers: readonly string[]): string[] {
  // The most telling first: a shortened check (quick runs) still covers PLUS, 满减, 新人立减 and a non-member.
  return ['u1001', 'u-mj', 'u-new', 'peer-check-1', 'u-bulk', 'u-basic', 'u-big', 'u-empty', 'new-peer-check-1', 'peer-check-2', ...loadUsers.slice(0, 3)];
}

/** Request variations besides the load's own headers: another locale, an app too old for the emphasis style. */
export const PEER_CHECK_VARIANTS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  'zh-CN, app 12.0.0': {},
  'en, app 12.0.0': { 'accept-language': 'en' },
  'zh-CN, app 11.9.0': { 'x-app-version': '11.9.0' },
};

interface Answer {
  readonly data?: { readonly floorPanel?: { readonly degraded?: boolean; readonly floors?: unknown } } | null;
  readonly errors?: unknown;
}

async function floorsJson(url: string, headers: Readonly<Record<string, string>>, body: string, who: string): Promise<{ json: string; degraded: boolean; count: number }> {
  const response = await fetch(url, { method: 'POST', headers, body });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${who}: HTTP ${response.status}: ${text.slice(0, 300)}`);
  const answer = JSON.parse(text) as Answer;
  const panel = answer.data?.floorPanel;
  if (answer.errors !== undefined || panel?.floors === undefined) throw new Error(`${who}: no floors: ${text.slice(0, 300)}`);
  // GraphQL servers write compact JSON in selection order: parsed and written again, the floors are their own bytes.
  return { json: JSON.stringify(panel.floors), degraded: panel.degraded === true, count: Array.isArray(panel.floors) ? panel.floors.length : 0 };
}

/**
 * Asks Floorplan and every peer for the panel of each user in each variation and throws,
 * naming the user and the first differing character, unless every peer's `floors` JSON is
 * byte-identical to Floorplan's (and Floorplan's panel is complete).
 */
export async function checkPeerFloors(options: {
  readonly floorplanUrl: string;
  readonly peers: ReadonlyArray<{ readonly name: string; readonly url: string }>;
  readonly users: readonly string[];
  readonly headers: (userId: string) => Record<string, string>;
  readonly body: string;
}): Promise<PeersPhase> {
  const checked: Array<PeersPhase['checked'][number]> = [];
  for (const userId of options.users) {
    for (const [variant, extra] of Object.entries(PEER_CHECK_VARIANTS)) {
      const headers = { ...options.headers(userId), ...extra };
      const expected = await floorsJson(options.floorplanUrl, headers, options.body, `Floorplan (${userId}, ${variant})`);
      if (expected.degraded) throw new Error(`peer check: Floorplan served ${userId} (${variant}) a degraded panel; pick users whose panels are complete`);
      for (const peer of options.peers) {
        const actual = await floorsJson(peer.url, headers, options.body, `${peer.name} (${userId}, ${variant})`);
        if (actual.json !== expected.json) {
          let at = 0;
          while (at < expected.json.length && expected.json[at] === actual.json[at]) at++;
          const from = Math.max(0, at - 80);
          throw new Error(
            `peer check: ${peer.name} answered ${userId} (${variant}) other floors than Floorplan, from character ${at}:\n` +
              `  Floorplan: …${expected.json.slice(from, at + 120)}\n  ${peer.name}: …${actual.json.slice(from, at + 120)}`,
          );
        }
      }
      checked.push({ userId, variant, floors: expected.count });
    }
  }
  return { checked };
}

const fixed = (value: number | null | undefined, digits: number) => (value !== null && value !== undefined && Number.isFinite(value) ? value.toFixed(digits) : 'n/a');

/** Floorplan's CPU µs/req against (d), (e), (f): the bounds, as multiples of each. */
export const PEER_CPU_BOUNDS: ReadonlyArray<{ readonly key: 'mercuriusPeer' | 'upstreamFloor' | 'apolloPeer'; readonly letter: string; readonly at: number; readonly what: string }> = [
  { key: 'mercuriusPeer', letter: 'f', at: 1.0, what: 'the tuned Mercurius peer' },
  { key: 'upstreamFloor', letter: 'd', at: 1.5, what: 'the three upstream calls alone' },
  { key: 'apolloPeer', letter: 'e', at: 0.5, what: 'the Apollo peer' },
];

/**
 * The CPU targets of issue 18 from Floorplan's and the others' CPU µs/req (undefined: not
 * measured). Judged on the pooled figures; `rounds` (each round's µs/req by server key) adds the
 * median of the per-round ratios, which one disturbed round cannot move as it moves the pool.
 * `beside` (`--peers --simultaneous`) is Floorplan's µs/req in the windows it shared with each
 * server, used for that server's ratio in place of `floorplanUs`, as each round's
 * `floorplan:<key>` is in place of its `floorplan`.
 */
export function peerCpuTargets(
  floorplanUs: number,
  others: Readonly<Partial<Record<'mercuriusPeer' | 'upstreamFloor' | 'apolloPeer', number>>>,
  rounds: ReadonlyArray<Readonly<Record<string, number>>> = [],
  beside: Readonly<Partial<Record<'mercuriusPeer' | 'upstreamFloor' | 'apolloPeer', number>>> = {},
): Target[] {
  return PEER_CPU_BOUNDS.map(({ key, letter, at, what }) => {
    const base = others[key];
    const description = `Floorplan CPU µs/req ≤ ${at.toFixed(1)}× (${letter}), ${what}`;
    if (base === undefined || !Number.isFinite(base)) return { id: `cpu-vs-${letter}`, description, actual: 'not measured', pass: null };
    const ours = beside[key] ?? floorplanUs;
    const ratio = ours / base;
    const perRound = rounds.map((r) => (r[`floorplan:${key}`] ?? r['floorplan'] ?? Number.NaN) / (r[key] ?? Number.NaN)).filter(Number.isFinite);
    const middle = perRound.length === 0 ? '' : `; median of ${perRound.length} rounds' ratios ${fixed(median(perRound), 2)}×`;
    const side = beside[key] === undefined ? '' : ', loaded at once';
    return { id: `cpu-vs-${letter}`, description, actual: `${fixed(ours, 1)} vs ${fixed(base, 1)} µs/req (${fixed(ratio, 2)}×${middle}${side})`, pass: ratio <= at };
  });
}

/** Issue 18's targets that a comparison run measures: CPU against (d), (e), (f), and the p99 overhead against (d)'s. */
export function peerTargets(results: Omit<BenchResults, 'targets'>): Target[] {
  const { servers, latency } = results;
  const targets = peerCpuTargets(
    servers.floorplan.cpuUsPerReq,
    {
      upstreamFloor: servers.upstreamFloor.cpuUsPerReq,
      apolloPeer: servers.apolloPeer?.cpuUsPerReq,
      mercuriusPeer: servers.mercuriusPeer?.cpuUsPerReq,
    },
    results.cpuRounds ?? [],
  );
  const control = latency.referenceHalfRate;
  const overhead = latency.halfRate.overheadP99Ms;
  targets.push({
    id: 'overhead-p99-vs-d',
    description: "p99 overhead over the upstream critical path at half saturation ≤ 1.5× (d)'s in the same interleaved rounds",
    actual: control === undefined ? 'not measured' : `${fixed(overhead, 2)} vs ${fixed(control.overheadP99Ms, 2)} ms (${fixed(overhead / control.overheadP99Ms, 2)}×)`,
    pass: control === undefined ? null : overhead <= 1.5 * control.overheadP99Ms,
  });
  return targets;
}

/**
 * The soak's RSS slope, MB per minute: a least-squares line through each minute's lowest sample
 * (a line through a GC sawtooth means nothing). With `seconds`, only samples inside the soak
 * count: the sampler's last tick lands as the load stops, and a lone sample would otherwise be
 * a minute of its own, weighing as much as a whole one.
 */
export function soakSlopeMbPerMinute(
  samples: SoakResult['samples'],
  seconds = Number.POSITIVE_INFINITY,
  /** Which figure of a sample: RSS unless told (a sample without that figure is left out). */
  pick: (sample: SoakResult['samples'][number]) => number | undefined = (sample) => sample.rssMb,
): { slope: number; minutes: number } {
  const minima = new Map<number, number>();
  for (const sample of samples) {
    const value = pick(sample);
    if (sample.atSeconds >= seconds || value === undefined) continue;
    const minute = Math.floor(sample.atSeconds / 60);
    minima.set(minute, Math.min(minima.get(minute) ?? Number.POSITIVE_INFINITY, value));
  }
  const points = [...minima.entries()];
  const n = points.length;
  if (n < 2) return { slope: Number.NaN, minutes: n };
  const meanX = points.reduce((s, [x]) => s + x, 0) / n;
  const meanY = points.reduce((s, [, y]) => s + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - meanX) * (y - meanY);
    den += (x - meanX) ** 2;
  }
  return { slope: num / den, minutes: n };
}

export function soakSlopeTarget(soak: SoakResult | undefined): Target {
  const description = 'soak: RSS slope ≤ 1 MB/min over 10 minutes, fitted to per-minute minima';
  if (soak === undefined) return { id: 'soak-slope', description, actual: 'not run (npm run bench -- --soak)', pass: null };
  const { slope, minutes } = soakSlopeMbPerMinute(soak.samples, soak.seconds);
  const long = soak.seconds >= 600;
  return {
    id: 'soak-slope',
    description,
    actual: `${fixed(slope, 2)} MB/min over ${minutes} minutes (${soak.seconds} s soak${long ? '' : ', shorter than 10 minutes'})`,
    pass: Number.isFinite(slope) && long ? slope <= 1 : null,
  };
}

/** The Markdown lines on the peers' byte-identity check. */
export function peersSection(phase: PeersPhase): string[] {
  const users = [...new Set(phase.checked.map((c) => c.userId))];
  const variants = [...new Set(phase.checked.map((c) => c.variant))];
  return [
    `Peers (e) and (f) answered byte-identical \`floors\` JSON to Floorplan's for ${users.length} users × ${variants.length} request variations ` +
      `(${variants.join('; ')}) before anything was measured: ${users.join(', ')}.`,
  ];
}

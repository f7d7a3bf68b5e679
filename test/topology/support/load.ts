/**
 * A steady, bounded load through HAProxy that keeps every answer: which replica gave it
 * (HAProxy's X-Floorplan-Replica header), when, and what it said. `lanes` requests run at
 * once, each lane pausing `pauseMs` between requests; it stops by itself after `maxMs`.
 */
import { Agent, fetch } from 'undici';

export const LOAD_QUERY = `query TopologyPanel { floorPanel(scene: "cart-bottom-sheet") { layoutVersion degraded failedUpstreams floors { code } } }`;

export interface LoadUser {
  readonly id: string;
  readonly token: string;
}

export interface Answer {
  /** performance.now() when the answer arrived. */
  readonly at: number;
  /** performance.now() when the request was sent. */
  readonly sentAt: number;
  readonly user: string;
  /** HTTP status, or 0 when the request failed without one (refused, reset, timed out). */
  readonly status: number;
  readonly replica: string;
  /** Whether it is a usable answer: HTTP 200, a panel, no GraphQL errors. */
  readonly ok: boolean;
  readonly degraded: boolean;
  readonly layoutVersion: string | undefined;
  readonly codes: readonly string[];
  /** Why it is not ok, for failure messages. */
  readonly problem?: string;
}

export interface LoadOptions {
  readonly url: string;
  readonly users: readonly LoadUser[];
  readonly lanes?: number;
  readonly pauseMs?: number;
  /** The load ends by itself after this long even if nobody stops it. */
  readonly maxMs: number;
}

interface PanelBody {
  data?: { floorPanel?: { layoutVersion: string; degraded: boolean; floors: Array<{ code: string }> } | null } | null;
  errors?: Array<{ message: string; extensions?: { code?: string } }>;
}

export class Load {
  readonly answers: Answer[] = [];
  readonly #options: LoadOptions;
  #stopped = false;
  #lanes: Promise<void>[] = [];
  // Keep-alive connections to HAProxy, as a mobile app's HTTP client would hold.
  readonly #agent = new Agent({ connections: 16, keepAliveTimeout: 5_000 });

  constructor(options: LoadOptions) {
    this.#options = options;
  }

  start(): this {
    const { lanes = 3, pauseMs = 40, maxMs } = this.#options;
    const endAt = performance.now() + maxMs;
    let next = 0;
    this.#lanes = Array.from({ length: lanes }, async () => {
      while (!this.#stopped && performance.now() < endAt) {
        const user = this.#options.users[next++ % this.#options.users.length]!;
        this.answers.push(await this.#ask(user));
        await new Promise((done) => setTimeout(done, pauseMs));
      }
    });
    return this;
  }

  /** Stops sending, waits for the answers in flight, and returns every answer. */
  async stop(): Promise<Answer[]> {
    this.#stopped = true;
    await Promise.all(this.#lanes);
    await this.#agent.close();
    return this.answers;
  }

  async #ask(user: LoadUser): Promise<Answer> {
    const sentAt = performance.now();
    try {
      const response = await fetch(`${this.#options.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${user.token}`, 'accept-language': 'zh-CN' },
        body: JSON.stringify({ query: LOAD_QUERY }),
        signal: AbortSignal.timeout(10_000),
        dispatcher: this.#agent,
      });
      const text = await response.text();
      const replica = response.headers.get('x-floorplan-replica') ?? 'none';
      let body: PanelBody | undefined;
      try {
        body = JSON.parse(text) as PanelBody;
      } catch {
        body = undefined;
      }
      const panel = body?.data?.floorPanel ?? undefined;
      const ok = response.status === 200 && panel !== undefined && (body?.errors ?? []).length === 0;
      return {
        at: performance.now(),
        sentAt,
        user: user.id,
        status: response.status,
        replica,
        ok,
        degraded: panel?.degraded ?? false,
        layoutVersion: panel?.layoutVersion,
        codes: panel?.floors.map((f) => f.code) ?? [],
        ...(ok ? {} : { problem: `HTTP ${response.status} ${text.slice(0, 300)}` }),
      };
    } catch (error) {
      return { at: performance.now(), sentAt, user: user.id, status: 0, replica: 'none', ok: false, degraded: false, layoutVersion: undefined, codes: [], problem: (error as Error).message };
    }
  }
}

/** Counts for a report line: answers, failed, degraded, per replica. */
export function summarize(answers: readonly Answer[]): { total: number; failed: number; degraded: number; perReplica: Record<string, number> } {
  const perReplica: Record<string, number> = {};
  for (const a of answers) perReplica[a.replica] = (perReplica[a.replica] ?? 0) + 1;
  return { total: answers.length, failed: answers.filter((a) => !a.ok).length, degraded: answers.filter((a) => a.ok && a.degraded).length, perReplica };
}

/** The first few failed answers, for an assertion message. */
export function describeFailures(answers: readonly Answer[], limit = 5): string {
  return answers
    .filter((a) => !a.ok || a.degraded)
    .slice(0, limit)
    .map((a) => `${a.replica} ${a.user} ${a.ok ? 'degraded' : (a.problem ?? '')}`)
    .join('\n');
}

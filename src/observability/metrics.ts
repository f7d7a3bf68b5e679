/**
 * Prometheus metrics on a registry of our own (not prom-client's global), so two servers in
 * one process — as in tests — never share or double-register counters.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { hotCounter, HotHistogram } from './hot-series.ts';

// Metrics are imported by the bottom layers (cache, Redis breakers, rate limits), so this
// module imports no other folder of src/: it names the label values it counts by (the help
// texts list them anyway) and what it reads of a panel or the admission controller. The
// producers' own types must fit these, so a new upstream, outcome or reason that metrics
// does not know fails to compile where app.ts wires them, instead of going uncounted. The
// upstream names are the exception: they come from the upstream registry, handed in by app.ts
// (`createMetrics({ upstreams })`), so a new upstream is labelled without an edit here.

/** The `upstream` label: an UpstreamName (upstreams/registry.ts). */
export type UpstreamLabel = string;
/** The `outcome` label of upstream calls: every UpstreamOutcome (upstreams/upstream-error.ts). */
export type UpstreamOutcomeLabel = 'ok' | 'timeout' | 'deadline' | 'http_error' | 'malformed' | 'network_error' | 'circuit_open' | 'rejected' | 'killed' | 'inconsistent';
/** The `reason` label of connections that failed to open: every ConnectFailure (upstreams/json-http.ts). */
export type ConnectFailureLabel = 'timeout' | 'refused' | 'unresolved' | 'other';
const CONNECT_FAILURES: readonly ConnectFailureLabel[] = ['timeout', 'refused', 'unresolved', 'other'];
/** The `reason` label of refused answers: every AnswerViolation (upstreams/upstream-error.ts). */
export type AnswerViolationLabel = 'QUOTE_INCONSISTENT' | 'CURRENCY_MISMATCH';
/**
 * The `reason` label of shed requests: every ShedReason (http/admission.ts), and `late`: admitted,
 * but its deadline ran out while Floorplan was saturated, so it was refused rather than answered
 * with a panel blaming healthy upstreams.
 */
export type ShedReasonLabel = 'queue_full' | 'queue_timeout' | 'late';

/** What the panel counters read of a rendered panel (a RenderedPanel fits). */
export interface CountedPanel {
  readonly scene: string;
  readonly degraded: boolean;
  /** The schema's DegradedReason values. */
  readonly degradedReasons: readonly string[];
}

/** What the dropped-floors counter reads of what happened to one floor (a FloorOutcome fits). */
export interface CountedFloorOutcome {
  readonly code: string;
  readonly status: string;
  /** The upstream whose failure dropped the floor, for `upstream-failed`. */
  readonly upstream?: UpstreamLabel | null;
  /** `<error code>: <message>`, for `builder-failed`, and for `undecorated` when no upstream failed. */
  readonly error?: string;
}

/** How a failed expression floor's outcome begins: errors.ts's ErrorCode.EXPRESSION_FAILED (src/panels/renderer.ts, describe). */
const EXPRESSION_FAILED = 'FLOORPLAN_ERR_EXPRESSION_FAILED:';

/** What the admission gauges read at every scrape (an AdmissionController fits). */
export interface AdmissionGauges {
  readonly limit: number;
  readonly running: number;
  readonly queued: number;
}

export interface FloorplanMetrics {
  readonly registry: Registry;
  /**
   * Counts one upstream call and, for a call that was sent, its duration. `durationSeconds` is
   * undefined for a call none of whose requests left Floorplan (`circuit_open`, `rejected`, a
   * `deadline` that passed before it was written): counted, but not observed as upstream latency.
   */
  upstreamCall(upstream: UpstreamLabel, outcome: UpstreamOutcomeLabel, durationSeconds: number | undefined): void;
  /**
   * Counts one retry sent to `upstream`: an attempt after a call's first (for a network error or a
   * 502/503/504, within the retry budget), whose request was written. A call is counted once in
   * `upstreamCall` however many retries it made, so what the upstream received is the calls that
   * were sent (the duration histogram's count) plus these.
   */
  upstreamRetry(upstream: UpstreamLabel): void;
  /**
   * Counts a connection to `upstream` that failed to open, and why: whether or not a call still
   * waited for it (one cut off by its deadline first is counted `deadline` in `upstreamCall`, so
   * this is what shows a host whose connects hang).
   */
  upstreamConnectFailure(upstream: UpstreamLabel, reason: ConnectFailureLabel): void;
  /** Counts a call its kill switch kept from being made (`outcome="killed"`; no duration: nothing ran). */
  upstreamKilled(upstream: UpstreamLabel): void;
  /** An upstream's circuit breaker changed state (a change to open is also counted). */
  upstreamBreakerState(upstream: UpstreamLabel, state: 'closed' | 'open' | 'half-open'): void;
  /** A GraphQL request refused by admission control (HTTP 503 OVERLOADED). */
  shed(reason: ShedReasonLabel): void;
  /** Reports admission control's limit, running and queued requests at every scrape. */
  watchAdmission(admission: AdmissionGauges): void;
  /**
   * Reports, at every scrape, how long ago the flags being served were last fetched from their
   * source, and the status Unleash refuses the flags poll with (0: not refusing).
   */
  watchFlags(flags: { fetchAgeSeconds(): number; readonly unleashRefusedStatus: number }): void;
  /** A wrong admin credential, and whether its source address is now refused. */
  adminAuthFailure(throttled: boolean): void;
  /** Records one HTTP request's duration. */
  httpRequest(route: string, method: string, status: number, durationSeconds: number): void;
  /** A GraphQL request answered by the known-operations fast path or by Apollo's pipeline. */
  graphqlRequest(pipeline: GraphQLPipeline): void;
  /** Counts a rendered panel, why it was degraded, and the floors it left out. */
  panelRendered(panel: CountedPanel, outcomes: readonly CountedFloorOutcome[]): void;
  /** Counts an upstream answer refused by the cross-checks (a quote that does not add up, another currency). */
  answerRefused(upstream: UpstreamLabel, reason: AnswerViolationLabel): void;
  /**
   * Counts one lookup in a cross-request cache layer. `error` on L2 means Redis could not
   * answer (an error, a timeout, or the breaker skipping it), so the lookup went on without it.
   */
  cacheResult(cache: string, layer: CacheLayer, result: CacheLookupResult): void;
  /** Records a Redis breaker's state: while open, its user skips Redis and works from process memory. */
  redisBreakerState(name: string, state: RedisBreakerState): void;
  /** Counts one rate-limit decision and which bucket made it (`local` while Redis is unavailable). */
  rateLimited(outcome: RateLimitOutcome, store: RateLimitStore): void;
  /** Counts one request that sent a persisted query's text with its hash, by what became of the hash (src/graphql/persisted-query-budget.ts). */
  persistedQueryRegistration(outcome: PersistedQueryRegistrationLabel): void;
  /** Counts one attempt to swap in a changed layout set: where it came from, and whether it is now served. */
  layoutReload(source: LayoutServedFrom, result: 'applied' | 'rejected'): void;
  /** Records the published layouts revision being served; 0 while the local floors files are. */
  layoutRevision(revision: number): void;
  /** Records where the served layouts came from: floorplan_layout_served_from{source} is 1 for it, 0 for the others. */
  layoutServedFrom(source: LayoutServedFrom): void;
  /** Records whether the layout revision store answered its last operation (1) or not (0); no series without a store. */
  layoutStoreUp(up: boolean): void;
  /** Counts a layout revision store operation PostgreSQL refused for a privilege its role lacks (the store stays up). */
  layoutStorePrivilegeRefused(access: LayoutStoreAccessLabel): void;
  /**
   * Sets floorplan_layout_unknown_flags to exactly these references: floors (or layouts) naming a
   * flag that Unleash does not define (remote flags mode; in local mode such a layout is refused).
   */
  layoutUnknownFlags(unknown: ReadonlyArray<{ readonly scene: string; readonly flag: string }>): void;
  /**
   * One shadow comparison of a scene's layout candidate (src/panels/shadow.ts): its result
   * (identical|different|skipped|failed), each floor and field that differed, whether the
   * candidate broke the money invariant where the served panel kept it, and its cost.
   */
  shadowComparison(scene: string, result: string, fields: ReadonlyArray<{ readonly floor: string; readonly field: string }>, candidateViolation: boolean, seconds: number): void;
  /** Sets floorplan_layout_candidate{scene} to the candidate revision each scene serves (series removed when none). */
  layoutCandidates(candidates: ReadonlyArray<{ readonly scene: string; readonly revision: number }>): void;
}

/** Where a replica's layouts come from (src/layouts/layout-store.ts): `last-known-good` when Redis and the store could not be read at start. */
export type LayoutServedFrom = 'file' | 'redis' | 'store' | 'last-known-good';
const LAYOUT_SOURCES: readonly LayoutServedFrom[] = ['file', 'redis', 'store', 'last-known-good'];

/**
 * The `access` label of refused layout store operations: `write`, a statement of a change's
 * transaction (publish, rollback, a candidate operation); `read`, any other — a replica's poll of
 * the live revision and candidates, history, audit, and what a change reads before its transaction.
 */
export type LayoutStoreAccessLabel = 'read' | 'write';
const LAYOUT_STORE_ACCESSES: readonly LayoutStoreAccessLabel[] = ['read', 'write'];

/** `l1`: the in-process lru-cache; `l2`: Redis, shared by every instance. */
export type CacheLayer = 'l1' | 'l2';

export type GraphQLPipeline = 'known-operation' | 'apollo';
/** `stale`: found past its fresh TTL but within its stale window, served while one refresh runs. */
export type CacheLookupResult = 'hit' | 'stale' | 'miss' | 'error';
export type RedisBreakerState = 'closed' | 'open' | 'half-open';
export type RateLimitOutcome = 'allowed' | 'limited';
/** `redis`: the shared bucket every instance sees; `local`: this process's fallback bucket. */
export type RateLimitStore = 'redis' | 'local';
/**
 * What became of a persisted query's text sent with its hash: `stored` (new, within the user's
 * budget), `known` (already stored: nothing spent), `refused` (new, over the user's budget: run,
 * not stored), `too_large` (over 8 KiB: run, not stored).
 */
export type PersistedQueryRegistrationLabel = 'stored' | 'known' | 'refused' | 'too_large';
const PERSISTED_QUERY_REGISTRATIONS: readonly PersistedQueryRegistrationLabel[] = ['stored', 'known', 'refused', 'too_large'];

/** Gauge value per breaker state (Redis and upstream breakers alike): 1 open, 0.5 half-open (one probe or trial call), 0 closed. */
const BREAKER_GAUGE: Readonly<Record<RedisBreakerState, number>> = { closed: 0, 'half-open': 0.5, open: 1 };

/**
 * @param options.upstreams every upstream's name (the registry's): their breaker series exist, at zero, from the start. Default none.
 * @param options.defaultMetrics whether to collect Node's process metrics too; default true.
 */
export function createMetrics(options: { defaultMetrics?: boolean; upstreams?: readonly UpstreamLabel[] } = {}): FloorplanMetrics {
  const UPSTREAM_LABELS = options.upstreams ?? [];
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'floorplan_' });

  // The series every request updates (hotCounter, HotHistogram) count where an update is cheap
  // and reach prom-client at each scrape (hot-series.ts): prom-client's own `inc`/`observe`
  // validate and hash the labels on every call.
  const upstreamRequests = hotCounter({
    name: 'floorplan_upstream_requests_total',
    help: `Calls to upstream services, each counted once however many retries it made (floorplan_upstream_retries_total counts those), by upstream (${UPSTREAM_LABELS.join('|')}) and outcome (ok|timeout|deadline: cut off by Floorplan's own request deadline|http_error|malformed: an answer that breaks its contract, or leaves out something asked|network_error|circuit_open|rejected|killed). An answer the cross-checks refuse counts ok here, and in floorplan_upstream_answers_rejected_total.`,
    labelNames: ['upstream', 'outcome'] as const,
    registers: [registry],
  });
  const upstreamDuration = new HotHistogram({
    name: 'floorplan_upstream_request_duration_seconds',
    help: 'Duration of upstream calls that were sent, connect to last byte (retries included), by upstream: every outcome but circuit_open, rejected, killed and a deadline that passed before the request was written, which never reached the upstream.',
    labelNames: ['upstream'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [registry],
  });
  // Apart from the calls, which count each call once: a retry is a second request to an upstream
  // in trouble, which an upstream team reconciling what it received must be able to see. At 0
  // from the start for every upstream, so requests + retries reads 0 retries, not nothing.
  const upstreamRetries = hotCounter({
    name: 'floorplan_upstream_retries_total',
    help: 'Retries sent to upstream services, by upstream: attempts after a call\'s first (for a network error or a 502/503/504, within the retry budget) whose request was written; not in floorplan_upstream_requests_total, which counts each call once. Requests an upstream received: floorplan_upstream_request_duration_seconds_count (its calls that were sent) plus this.',
    labelNames: ['upstream'] as const,
    registers: [registry],
    initial: UPSTREAM_LABELS.map((upstream) => [upstream]),
  });
  // Rare (an outage's connections), so prom-client's own counter; at 0 from the start for every
  // upstream and reason, so an alert's increase() sees the first one.
  const connectFailures = new Counter({
    name: 'floorplan_upstream_connect_failures_total',
    help: `Connections to upstream services that failed to open, by upstream and reason (${CONNECT_FAILURES.join('|')}: timeout is none within connectTimeoutMs, a host that drops connects), whether or not a call still waited for them: calls cut off by Floorplan's deadline while they waited count as deadline in floorplan_upstream_requests_total.`,
    labelNames: ['upstream', 'reason'] as const,
    registers: [registry],
  });
  for (const upstream of UPSTREAM_LABELS) for (const reason of CONNECT_FAILURES) connectFailures.inc({ upstream, reason }, 0);
  const httpDuration = new HotHistogram({
    name: 'floorplan_http_request_duration_seconds',
    help: 'Time Floorplan took to answer HTTP requests, by route, method and status: from the whole request having arrived (a POST from its last body byte, so a slow upload is not counted) to the answer written; a POST answered before its body was read (refused on its headers, or status 499: the client left mid-body) counts as 0.',
    labelNames: ['route', 'method', 'status'] as const,
    // 0.3: FloorplanSlowAnswers' threshold. Prometheus interpolates within a bucket, and between 0.25
    // and 0.5 answers cut at the 250 ms deadline (a few ms past it) read as a p99 of up to 0.5 s.
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.3, 0.5, 1, 2.5],
    registers: [registry],
  });
  const panels = hotCounter({
    name: 'floorplan_panels_total',
    help: 'Panels served to users, by scene and whether they were degraded: not one rendered and then refused as OVERLOADED (floorplan_shed_total{reason="late"}), nor those of an answer whose data is null, a shadow render or an operator\'s preview.',
    labelNames: ['scene', 'degraded'] as const,
    registers: [registry],
  });
  const degradedPanels = new Counter({
    name: 'floorplan_panels_degraded_total',
    help: 'Degraded panels, by scene and reason (DegradedReason: UPSTREAM_FAILED, QUOTE_INCONSISTENT, CURRENCY_MISMATCH, PARTIAL_BREAKDOWN, BUILDER_FAILED); a panel with two reasons counts under both.',
    labelNames: ['scene', 'reason'] as const,
    registers: [registry],
  });
  const refusedAnswers = new Counter({
    name: 'floorplan_upstream_answers_rejected_total',
    help: 'Upstream answers that kept their contract but were refused by the cross-checks, by upstream and reason (QUOTE_INCONSISTENT, CURRENCY_MISMATCH). An answer that leaves out something asked (no quote for a quoteId) broke its contract: it is counted outcome="malformed" in floorplan_upstream_requests_total, not here.',
    labelNames: ['upstream', 'reason'] as const,
    registers: [registry],
  });
  const droppedFloors = new Counter({
    name: 'floorplan_floors_dropped_total',
    help: 'Floors left out of a panel because building them failed, by scene, floor and reason (upstream name, builder, or expression: an expression floor\'s CEL failed).',
    labelNames: ['scene', 'floor', 'reason'] as const,
    registers: [registry],
  });
  const expressionFailures = new Counter({
    name: 'floorplan_expression_failures_total',
    help: 'Expression floors whose CEL failed at run time (overflow, two currencies, a wrong sign, a list beyond its cost bound), by scene and floor: the amount or when (the floor is dropped), or a sub-name variable (the floor is shown, only its sub-name falls back).',
    labelNames: ['scene', 'floor'] as const,
    registers: [registry],
  });
  const cacheRequests = hotCounter({
    name: 'floorplan_cache_requests_total',
    help: 'Cross-request cache lookups, by cache, layer (l1|l2) and result (hit|stale|miss|error).',
    labelNames: ['cache', 'layer', 'result'] as const,
    registers: [registry],
  });
  const breakerOpen = new Gauge({
    name: 'floorplan_redis_breaker_open',
    help: 'Redis circuit breaker state by user of Redis: 1 open (Redis skipped), 0.5 half-open (probing), 0 closed. An open breaker probes every cache.redisBreaker.halfOpenAfterMs whether or not requests come, so this follows Redis, not the traffic.',
    labelNames: ['name'] as const,
    registers: [registry],
  });
  const rateLimitDecisions = hotCounter({
    name: 'floorplan_rate_limit_decisions_total',
    help: 'Per-user rate-limit decisions, by outcome (allowed|limited) and store (redis|local fallback).',
    labelNames: ['outcome', 'store'] as const,
    registers: [registry],
  });
  const persistedQueryRegistrations = new Counter({
    name: 'floorplan_apq_registrations_total',
    help: "Persisted queries sent with their text and hash, by outcome (stored|known: already stored|refused: over the user's limits.persistedQueryRegistrationsPerDay, run but not stored|too_large: over 8 KiB, run but not stored).",
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  // At zero from the start, so an alert on refusals has a series to rate before the first one.
  for (const outcome of PERSISTED_QUERY_REGISTRATIONS) persistedQueryRegistrations.inc({ outcome }, 0);
  const layoutReloads = new Counter({
    name: 'floorplan_layout_reloads_total',
    help: 'Attempts to swap in a changed layout set, by source (file|redis|store|last-known-good) and result (applied|rejected: the last good set kept serving).',
    labelNames: ['source', 'result'] as const,
    registers: [registry],
  });
  // At 0 from the start: the alert on rejections reads increase(), which a series first seen at 1 does not show.
  for (const source of LAYOUT_SOURCES) for (const result of ['applied', 'rejected'] as const) layoutReloads.inc({ source, result }, 0);
  const layoutRevisionGauge = new Gauge({
    name: 'floorplan_layout_revision',
    help:
      'Revision of the published layouts this instance serves, whichever source floorplan_layout_served_from names: redis (a set published to Redis), store (the revision store\'s live revision) or last-known-good (the revision of the copy taken at start); 0 while it serves the floors files (file).',
    registers: [registry],
  });
  const layoutServedFromGauge = new Gauge({
    name: 'floorplan_layout_served_from',
    help:
      "Where the layouts served come from: 1 for the source in use, 0 for the others. file: the floors files (floors.dir), while no published set was read (none is published, or none could be read and there is no last-known-good copy). redis: a set published to Redis, read at start, when a publish pushes it or by the resync. store: the live revision of the revision store (PostgreSQL, or PGlite embedded in the process), read at start and by its poll, or published through this replica. last-known-good: this replica's copy (layouts.lastKnownGoodFile) of the last published set it served, taken at start because Redis or the revision store could not be read and the store gave no set, nor Redis one as new as the copy; served until the store or Redis swaps in a set.",
    labelNames: ['source'] as const,
    registers: [registry],
  });
  const layoutStoreUpGauge = new Gauge({
    name: 'floorplan_layout_store_up',
    help: 'Whether the layout revision store (PostgreSQL or PGlite) answered its last operation: 1 up, 0 down (publishing and rollback refused; serving goes on). A privilege refused to its role is an answer (1), logged at error level and counted in floorplan_layout_store_privilege_refusals_total. No series without a store, or before its first operation.',
    // Registered at the store's first operation: an unlabelled gauge would otherwise read 0, "down", for a store nothing asked yet, or none at all.
    registers: [],
  });
  let layoutStoreUpRegistered = false;
  // Apart from floorplan_layout_store_up, which a refused privilege leaves at 1 (a grant to make,
  // not an outage): a role refused CONNECT or SELECT has every poll refused, and only this shows
  // it. At 0 from the start, with a store or without, so FloorplanLayoutStorePrivilegeRefused's
  // increase() sees a replica's first refusal.
  const layoutStorePrivilegeRefusals = new Counter({
    name: 'floorplan_layout_store_privilege_refusals_total',
    help: "Layout revision store operations PostgreSQL refused for a privilege the role of layouts.store.url lacks (no CONNECT, no SELECT or INSERT on a table, no USAGE on a sequence, no CREATE for a pending migration), by access: read (a replica's poll for new live revisions and candidates, history, audit, the reads a change makes first) or write (a change's transaction: publish, rollback, candidate operations). The store stays up (floorplan_layout_store_up 1); each distinct refusal is logged once at error level. Grant it: README, \"The layout store's database privileges\".",
    labelNames: ['access'] as const,
    registers: [registry],
  });
  for (const access of LAYOUT_STORE_ACCESSES) layoutStorePrivilegeRefusals.inc({ access }, 0);
  const layoutUnknownFlagsGauge = new Gauge({
    name: 'floorplan_layout_unknown_flags',
    help: 'References, by scene and flag, from the layouts served to a flag Unleash does not define (remote flags mode): such a floor is never shown. 0 series: every name is known.',
    labelNames: ['scene', 'flag'] as const,
    registers: [registry],
  });

  const shadowComparisons = new Counter({
    name: 'floorplan_shadow_comparisons_total',
    help: 'Shadow comparisons of a layout candidate with the live panel served, by scene and result: identical, different, skipped (the candidate needed an upstream the served panel did not load; no extra call is made), failed.',
    labelNames: ['scene', 'result'] as const,
    registers: [registry],
  });
  const shadowDifferences = new Counter({
    name: 'floorplan_shadow_differences_total',
    help: 'Shadow comparisons in which a floor differed, by scene, floor code and field (presence|order|amount|priceText|name|subName|style|kind).',
    labelNames: ['scene', 'floor', 'field'] as const,
    registers: [registry],
  });
  const shadowViolations = new Counter({
    name: 'floorplan_shadow_invariant_violations_total',
    help: 'Shadow comparisons in which the candidate panel did not add up (GOODS + DEDUCTION + CHARGE ≠ PAYABLE) while the served panel did: promote is refused while a candidate has any.',
    labelNames: ['scene'] as const,
    registers: [registry],
  });
  const shadowSeconds = new Histogram({
    name: 'floorplan_shadow_seconds',
    help: 'Event-loop time of one shadow render and comparison (after the answer, off its path), by scene.',
    labelNames: ['scene'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05],
    registers: [registry],
  });
  const candidateGauge = new Gauge({
    name: 'floorplan_layout_candidate',
    help: 'The candidate revision this replica serves for a scene to the users its rollout selects; no series for a scene without a candidate.',
    labelNames: ['scene'] as const,
    registers: [registry],
  });

  const graphqlRequests = hotCounter({
    name: 'floorplan_graphql_requests_total',
    help: 'GraphQL requests by pipeline: known-operation (an operation Apollo validated before, run directly) or apollo (everything else, and every error).',
    labelNames: ['pipeline'] as const,
    registers: [registry],
  });
  const byPipeline = { 'known-operation': graphqlRequests('known-operation'), apollo: graphqlRequests('apollo') };

  const upstreamBreaker = new Gauge({
    name: 'floorplan_upstream_breaker_state',
    help: 'Circuit breaker per upstream: 0 closed, 0.5 half-open (one trial call), 1 open (failing fast).',
    labelNames: ['upstream'] as const,
    registers: [registry],
  });
  for (const upstream of UPSTREAM_LABELS) upstreamBreaker.set({ upstream }, 0);
  const breakerOpened = new Counter({
    name: 'floorplan_upstream_breaker_opened_total',
    help: 'Times an upstream circuit breaker opened (failing fast), by upstream.',
    labelNames: ['upstream'] as const,
    registers: [registry],
  });
  for (const upstream of UPSTREAM_LABELS) breakerOpened.inc({ upstream }, 0);

  const shedRequests = new Counter({
    name: 'floorplan_shed_total',
    help: 'GraphQL requests refused with 503 OVERLOADED, by reason (queue_full: refused on arrival; queue_timeout: waited maxQueueWaitMs without a slot; late: admitted, but its deadline ran out while Floorplan was saturated).',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const shedBy = { queue_full: shedRequests.labels('queue_full'), queue_timeout: shedRequests.labels('queue_timeout'), late: shedRequests.labels('late') };
  // At 0 from the start, as the layout reloads: FloorplanShedding reads rate(), which would lose
  // the refusals a burst made before a series' first scrape.
  for (const reason of Object.values(shedBy)) reason.inc(0);
  let admission: AdmissionGauges | undefined;
  new Gauge({
    name: 'floorplan_admission_limit',
    help: 'Admission control: the current limit on GraphQL requests running at once (it follows measured latency).',
    registers: [registry],
    collect() {
      if (admission !== undefined) this.set(admission.limit);
    },
  });
  new Gauge({
    name: 'floorplan_admission_requests',
    help: 'Admission control: GraphQL requests running and waiting for a slot, by state (running|queued).',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      if (admission === undefined) return;
      this.set({ state: 'running' }, admission.running);
      this.set({ state: 'queued' }, admission.queued);
    },
  });
  let flags: { fetchAgeSeconds(): number; readonly unleashRefusedStatus: number } | undefined;
  new Gauge({
    name: 'floorplan_flags_fetch_age_seconds',
    help: 'Seconds since the feature flags being served were last fetched successfully: from Unleash (remote mode; since start until it first answers), or a check of the flags file that found them current (local mode). Alert when it stays well above flags.refreshIntervalMs: flags have stopped updating.',
    registers: [registry],
    collect() {
      if (flags !== undefined) this.set(flags.fetchAgeSeconds());
    },
  });
  new Gauge({
    name: 'floorplan_flags_unleash_refused_status',
    help: 'The HTTP status (401 or 403) Unleash refused the last feature flags poll with, until it answers one again; 0 while it is not refusing (and in local mode). Meanwhile the last flags keep serving and Floorplan asks again, at most a minute apart. Alert when it stays above 0: the token (flags.unleashToken) is refused, and flag changes, kill switches included, do not arrive.',
    registers: [registry],
    collect() {
      if (flags !== undefined) this.set(flags.unleashRefusedStatus);
    },
  });
  const adminFailures = new Counter({
    name: 'floorplan_admin_auth_failures_total',
    help: 'Wrong admin credentials, by whether the source address is now throttled (refused with 429 until its window ends).',
    labelNames: ['throttled'] as const,
    registers: [registry],
  });

  return {
    registry,
    upstreamBreakerState(upstream, state) {
      upstreamBreaker.set({ upstream }, BREAKER_GAUGE[state]);
      if (state === 'open') breakerOpened.inc({ upstream });
    },
    shed(reason) {
      shedBy[reason].inc();
    },
    watchAdmission(controller) {
      admission = controller;
    },
    watchFlags(source) {
      flags = source;
    },
    adminAuthFailure(throttled) {
      adminFailures.inc({ throttled: String(throttled) });
    },
    upstreamCall(upstream, outcome, durationSeconds) {
      upstreamRequests(upstream, outcome).inc();
      if (durationSeconds !== undefined) upstreamDuration.labels(upstream).observe(durationSeconds);
    },
    upstreamRetry(upstream) {
      upstreamRetries(upstream).inc();
    },
    upstreamConnectFailure(upstream, reason) {
      connectFailures.inc({ upstream, reason });
    },
    upstreamKilled(upstream) {
      upstreamRequests(upstream, 'killed').inc();
    },
    httpRequest(route, method, status, durationSeconds) {
      httpDuration.labels(route, method, String(status)).observe(durationSeconds);
    },
    graphqlRequest(pipeline) {
      byPipeline[pipeline].inc();
    },
    panelRendered(panel, outcomes) {
      panels(panel.scene, String(panel.degraded)).inc();
      if (!panel.degraded) return;
      for (const reason of panel.degradedReasons) degradedPanels.inc({ scene: panel.scene, reason });
      for (const outcome of outcomes) {
        if (outcome.status === 'upstream-failed' && outcome.upstream != null) droppedFloors.inc({ scene: panel.scene, floor: outcome.code, reason: outcome.upstream });
        else if (outcome.status === 'builder-failed') {
          const expression = outcome.error?.startsWith(EXPRESSION_FAILED) === true;
          droppedFloors.inc({ scene: panel.scene, floor: outcome.code, reason: expression ? 'expression' : 'builder' });
          if (expression) expressionFailures.inc({ scene: panel.scene, floor: outcome.code });
        } else if (outcome.status === 'undecorated' && outcome.error?.startsWith(EXPRESSION_FAILED) === true) {
          // Its decoration's expression failed: the floor is shown (not dropped), its sub-name fell back.
          expressionFailures.inc({ scene: panel.scene, floor: outcome.code });
        }
      }
    },
    answerRefused(upstream, reason) {
      refusedAnswers.inc({ upstream, reason });
    },
    cacheResult(cache, layer, result) {
      cacheRequests(cache, layer, result).inc();
    },
    redisBreakerState(name, state) {
      breakerOpen.set({ name }, BREAKER_GAUGE[state]);
    },
    rateLimited(outcome, store) {
      rateLimitDecisions(outcome, store).inc();
    },
    persistedQueryRegistration(outcome) {
      persistedQueryRegistrations.inc({ outcome });
    },
    layoutReload(source, result) {
      layoutReloads.inc({ source, result });
    },
    layoutRevision(revision) {
      layoutRevisionGauge.set(revision);
    },
    layoutServedFrom(source) {
      for (const each of LAYOUT_SOURCES) layoutServedFromGauge.set({ source: each }, each === source ? 1 : 0);
    },
    layoutStoreUp(up) {
      if (!layoutStoreUpRegistered) registry.registerMetric(layoutStoreUpGauge);
      layoutStoreUpRegistered = true;
      layoutStoreUpGauge.set(up ? 1 : 0);
    },
    layoutStorePrivilegeRefused(access) {
      layoutStorePrivilegeRefusals.inc({ access });
    },
    shadowComparison(scene, result, fields, candidateViolation, seconds) {
      shadowComparisons.inc({ scene, result });
      const counted = new Set<string>();
      for (const { floor, field } of fields) {
        const key = `${floor}\u0000${field}`;
        if (counted.has(key)) continue;
        counted.add(key);
        shadowDifferences.inc({ scene, floor, field });
      }
      // At 0 from a scene's first comparison, so rate() and increase() see its first violation.
      shadowViolations.inc({ scene }, candidateViolation ? 1 : 0);
      shadowSeconds.observe({ scene }, seconds);
    },
    layoutCandidates(candidates) {
      candidateGauge.reset();
      for (const { scene, revision } of candidates) candidateGauge.set({ scene }, revision);
    },
    layoutUnknownFlags(unknown) {
      // Replaced as a whole: a name that became known (or a floor that went) leaves no stale series.
      layoutUnknownFlagsGauge.reset();
      for (const { scene, flag } of unknown) layoutUnknownFlagsGauge.inc({ scene, flag });
    },
  };
}

import type { CacheLayer, CacheLookupResult, RedisBreakerState } from '../../src/observability/metrics.ts';

/** A metrics hook for caches and Redis breakers that records what it is told. */
export function recordMetrics() {
  const lookups: Array<{ layer: CacheLayer; result: CacheLookupResult }> = [];
  const states: RedisBreakerState[] = [];
  return {
    lookups,
    states,
    cacheResult(_cache: string, layer: CacheLayer, result: CacheLookupResult) {
      lookups.push({ layer, result });
    },
    redisBreakerState(_name: string, state: RedisBreakerState) {
      states.push(state);
    },
    count(layer: CacheLayer, result: CacheLookupResult): number {
      return lookups.filter((l) => l.layer === layer && l.result === result).length;
    },
    get lastState(): RedisBreakerState | undefined {
      return states.at(-1);
    },
  };
}

/**
 * A Lua script run by its SHA1 (EVALSHA), sent whole (EVAL) only when Redis answers NOSCRIPT —
 * after a restart, a failover or SCRIPT FLUSH — as ioredis' defineCommand does, but without
 * defining a command on every client (the clients here are shared, and a Cluster's too).
 */
import { createHash } from 'node:crypto';
import type { RedisClient } from './client.ts';

/** Runs the script on `keys` (all in one hash slot on a Cluster) with `args`; what it returns. */
export type RedisScript = (redis: RedisClient, keys: readonly string[], ...args: ReadonlyArray<string | number>) => Promise<unknown>;

export function redisScript(source: string): RedisScript {
  const sha = createHash('sha1').update(source).digest('hex');
  return async (redis, keys, ...args) => {
    try {
      return await redis.evalsha(sha, keys.length, ...keys, ...args);
    } catch (error) {
      // Redis restarted or flushed its script cache: send the script itself once.
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return await redis.eval(source, keys.length, ...keys, ...args);
    }
  };
}

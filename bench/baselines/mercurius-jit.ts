/**
 * Baseline (c): Fastify + Mercurius with `jit: 1` (queries compiled by graphql-jit after their
 * first run), Floorplan's SDL, and a resolver that returns the static panel.
 */
import Fastify from 'fastify';
import mercurius from 'mercurius';
import { STATIC_PANEL } from '../panel.ts';
import { exitWithParent, floorplanSdl, portFromEnv } from './common.ts';

const app = Fastify({ logger: false });
await app.register(mercurius, {
  schema: floorplanSdl(),
  resolvers: { Query: { floorPanel: async () => STATIC_PANEL } },
  jit: 1,
});

exitWithParent();
await app.listen({ port: portFromEnv(), host: '127.0.0.1' });

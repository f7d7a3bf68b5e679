/**
 * Baseline (b): bare Apollo Server 5 behind `startStandaloneServer`, Floorplan's SDL, and a
 * resolver that returns the static panel. What Apollo itself costs per request.
 */
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { STATIC_PANEL } from '../panel.ts';
import { exitWithParent, floorplanSdl, portFromEnv } from './common.ts';

const server = new ApolloServer({
  typeDefs: floorplanSdl(),
  resolvers: { Query: { floorPanel: () => STATIC_PANEL } },
  includeStacktraceInErrorResponses: false,
});

exitWithParent();
await startStandaloneServer(server, { listen: { port: portFromEnv(), host: '127.0.0.1' } });

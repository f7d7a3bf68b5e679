/**
 * Baseline (a): plain `node:http` writing the precomputed panel JSON for POST /graphql.
 * No parsing, no validation, no execution: the floor any Node HTTP server stands on.
 */
import { createServer } from 'node:http';
import { PANEL_RESPONSE_JSON } from '../panel.ts';
import { exitWithParent, portFromEnv } from './common.ts';

const body = Buffer.from(PANEL_RESPONSE_JSON);
const headers = { 'content-type': 'application/json; charset=utf-8', 'content-length': String(body.length) };

const server = createServer((req, res) => {
  if (req.method === 'POST' && req.url === '/graphql') {
    // The request body is read to its end, as any GraphQL server must, then ignored.
    req.resume();
    req.on('end', () => {
      res.writeHead(200, headers);
      res.end(body);
    });
    return;
  }
  res.writeHead(404).end();
});

exitWithParent();
server.listen(portFromEnv(), '127.0.0.1');

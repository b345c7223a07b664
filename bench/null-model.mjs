#!/usr/bin/env node
/**
 * The run benchmark's zero-latency model: a tiny HTTP server, run in a process of its own, that
 * reads each request body to its end (as any server must) without decoding it, and answers an
 * empty FeatureCollection at once. Whatever the run costs on top of the floor is then the
 * runner's own work, plus moving the tile bytes to another process.
 *
 *   POST /invocations (any path but /stats) → 200 {"type":"FeatureCollection","features":[]}
 *   GET  /stats                             → {calls, bytes, empty (bodies), cpuMs (own CPU)} since start
 *
 * Prints `null model listening on http://127.0.0.1:PORT` on stdout once it listens.
 * Usage: node bench/null-model.mjs [--port 0]
 */
import http from 'node:http';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { port: { type: 'string' } } });
const ANSWER = Buffer.from('{"type":"FeatureCollection","features":[]}');
const stats = { calls: 0, bytes: 0, empty: 0 };

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/stats') {
    const cpu = process.cpuUsage();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ...stats, cpuMs: (cpu.user + cpu.system) / 1000 }));
    return;
  }
  let bytes = 0;
  req.on('data', (chunk) => (bytes += chunk.length));
  req.on('end', () => {
    stats.calls += 1;
    stats.bytes += bytes;
    if (bytes === 0) stats.empty += 1;
    res.writeHead(200, { 'content-type': 'application/geo+json', 'content-length': ANSWER.length });
    res.end(ANSWER);
  });
});
// Keep connections for the whole benchmark: clients reuse them between tiles.
server.keepAliveTimeout = 120_000;
server.headersTimeout = 130_000;
server.listen(Number(values.port ?? 0), '127.0.0.1', () => {
  process.stdout.write(`null model listening on http://127.0.0.1:${server.address().port}\n`);
});
const stop = () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);

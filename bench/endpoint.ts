/**
 * The local S3 endpoint alone in its process, for benchmarks that measure its CPU apart:
 * `node --import tsx bench/endpoint.ts DIR` prints its URL on one line and serves until SIGTERM.
 */
import { startLocalEndpoint } from '../local/s3-endpoint.js';

const endpoint = await startLocalEndpoint({ directory: process.argv[2] ?? '.', buckets: ['bench'], port: 0 });
process.stdout.write(`${endpoint.url}\n`);
process.once('SIGTERM', () => {
  void endpoint.close().then(() => process.exit(0));
});

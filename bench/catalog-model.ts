/**
 * bench/catalog: the catalog model on 1,000 days × 200 binlogs per day of synthetic records (one
 * dump a day), the size issue 5 asks to build in bounded time; prints the build time and memory.
 *
 *   npm run bench:catalog          # BENCH_DAYS / BENCH_PER_DAY resize it
 */
import { buildCatalog } from '../core/catalog/model.js';
import { binlogSeries, dumpAt, T0 } from '../test/helpers/catalog.js';

const days = Number(process.env.BENCH_DAYS ?? 1000);
const perDay = Number(process.env.BENCH_PER_DAY ?? 200);
const span = Math.floor(86_400 / perDay);
const binlogs = binlogSeries({ count: days * perDay, span });
const dumps = Array.from({ length: days }, (_, d) => dumpAt(T0 + d * 86_400 + 30, binlogs[d * perDay]?.name ?? ''));
const now = new Date((T0 + days * 86_400) * 1000);

const times: number[] = [];
let windows = 0;
for (let round = 0; round < 3; round++) {
  const started = performance.now();
  const catalog = buildCatalog({ host: 'db1', binlogs, dumps, gapRecords: [], pending: [], now });
  times.push((performance.now() - started) / 1000);
  windows = catalog.windows.length;
  if (catalog.chain.length !== days * perDay || catalog.gaps.length !== 0) throw new Error('unexpected catalog');
}
const best = Math.min(...times);
console.log(JSON.stringify({ bench: 'catalog', days, perDay, binlogs: days * perDay, dumps: days, buildSeconds: Number(best.toFixed(2)), windows, heapMB: Math.round(process.memoryUsage().heapUsed / 1e6) }));
console.log(`catalog of ${days * perDay} binlogs and ${days} dumps built in ${best.toFixed(2)} s (best of 3), ${windows} window(s)`);

import type { BinlogFacts } from './binlog/verify.js';
import type { DumpFacts } from './dump/verify.js';
import type { ObjectRef } from './layout.js';
import type { Verification } from './verify.js';

/**
 * A verification record: written once per object, never changed (catalog and alerts read them).
 */
export interface ObjectRecord {
  recordVersion: 1;
  kind: 'binlog' | 'dump' | 'unknown';
  key: string;
  host: string;
  day: string;
  name: string;
  status: 'ok' | 'failed';
  reasons: string[];
  /** Every reason found; `reasons` holds the first hundred. */
  reasonCount?: number;
  size: number;
  rawSize: number;
  sha256: string;
  /** Whether the sha256 matched the shipper's metadata (absent when there was none). */
  sha256Match?: boolean;
  gzip: { ok: boolean; sealed: boolean };
  /** The shipper's metadata, as it was on the object. */
  metadata: Record<string, string>;
  binlog?: Omit<BinlogFacts, 'notes' | 'problems' | 'logPosMismatches'> & { notes: string[] };
  dump?: Omit<DumpFacts, 'problems' | 'lastLine'>;
  verifiedAt: string;
  verifierVersion: string;
}

export const buildRecord = (
  ref: ObjectRef,
  verdict: Verification,
  metadata: Record<string, string>,
  verifiedAt: Date,
  verifierVersion: string,
): ObjectRecord => {
  const gzipFailed = verdict.reasons.some((r) => r.startsWith('gzip:'));
  let binlog: ObjectRecord['binlog'];
  if (verdict.binlog) {
    const { problems: _problems, logPosMismatches: _mismatches, ...facts } = verdict.binlog;
    binlog = facts;
  }
  let dump: ObjectRecord['dump'];
  if (verdict.dump) {
    const { problems: _problems, lastLine: _last, ...facts } = verdict.dump;
    dump = facts;
  }
  return {
    recordVersion: 1,
    kind: verdict.kind,
    key: ref.key,
    host: ref.host,
    day: ref.day,
    name: ref.name,
    status: verdict.status,
    reasons: verdict.reasons,
    ...(verdict.reasonCount !== undefined && verdict.reasonCount > verdict.reasons.length ? { reasonCount: verdict.reasonCount } : {}),
    size: verdict.size,
    rawSize: verdict.rawSize,
    sha256: verdict.sha256,
    ...(verdict.sha256Match !== undefined ? { sha256Match: verdict.sha256Match } : {}),
    gzip: { ok: verdict.gzip && !gzipFailed, sealed: verdict.seal !== undefined },
    metadata,
    ...(binlog ? { binlog } : {}),
    ...(dump ? { dump } : {}),
    verifiedAt: verifiedAt.toISOString(),
    verifierVersion,
  };
};

import type { RestorePlan } from './restore/plan.js';
import type { InstanceSizing } from './restore/sizing.js';
import type { ServerInfo } from './server.js';

/**
 * The narrow interfaces the domain code needs from the outside world. The S3 driver (AWS or the
 * local endpoint) implements ObjectStore; tests may pass plain objects.
 */

export interface ObjectHead {
  key: string;
  size: number;
  /** User metadata, lower-case names without the `x-amz-meta-` prefix. */
  metadata: Record<string, string>;
  lastModified?: Date;
  /** The version's ETag (quoted, as S3 gives it), where the store has one. */
  etag?: string;
}

export interface GetOptions {
  /** Read from this byte on (a ranged GET: `Range: bytes={from}-`). @default 0 */
  from?: number;
  /**
   * Read only this version (`If-Match` on its ETag): another version under the key refuses the
   * read with ObjectChangedError, so bytes read after a pause belong to the version read before it.
   */
  ifMatch?: string;
}

export interface PutOptions {
  metadata?: Record<string, string>;
  /**
   * putStream: metadata the body's first bytes tell, asked for when the object is created — after
   * its first parts (a multipart upload), or after the whole body (one PUT) — and added to `metadata`.
   */
  metadataOnCreate?: () => Record<string, string>;
  contentType?: string;
  /** Refuse (ObjectExistsError) when an object with the key already exists. */
  ifAbsent?: boolean;
  /** Write only over this exact version (its ETag); otherwise WriteConflictError. */
  ifMatch?: string;
  /** Called once a multipart upload has an id, so a crash can be cleaned up on the next run. */
  onMultipartStarted?: (uploadId: string) => void | Promise<void>;
  signal?: AbortSignal;
  /** Part size of a streamed upload (bigger parts for bigger objects: S3 allows 10,000 parts). */
  partBytes?: number;
}

/** What holds an object under S3 Object Lock. */
export interface ObjectLock {
  /** Until when a retention holds it (GOVERNANCE or COMPLIANCE). */
  retainUntil?: Date;
  mode?: string;
  legalHold: boolean;
}

export interface MultipartUploadInfo {
  key: string;
  uploadId: string;
  initiated?: Date;
}

export interface ListOptions {
  /** Return the common prefixes at this delimiter instead of descending. */
  delimiter?: string;
}

export interface ListResult {
  keys: ObjectHead[];
  prefixes: string[];
}

export interface ObjectStore {
  /** The object's size and metadata, or undefined when there is none. */
  head(key: string): Promise<ObjectHead | undefined>;
  get(key: string, options?: GetOptions): Promise<AsyncIterable<Uint8Array>>;
  getBytes(key: string): Promise<Buffer>;
  /** The object's bytes and ETag, or undefined when there is none (for read-modify-write with ifMatch). */
  getVersioned(key: string): Promise<{ body: Buffer; etag: string } | undefined>;
  put(key: string, body: Buffer | string, options?: PutOptions): Promise<void>;
  /** Streams a body of unknown length; a failure or abort leaves no object and no upload behind. */
  putStream(key: string, body: AsyncIterable<Uint8Array>, options?: PutOptions): Promise<{ bytes: number }>;
  list(prefix: string, options?: ListOptions): Promise<ListResult>;
  listMultipartUploads(prefix: string): Promise<MultipartUploadInfo[]>;
  abortMultipartUpload(key: string, uploadId: string): Promise<void>;
  delete(key: string): Promise<void>;
  /**
   * Deletes every version and delete marker of the key: on a versioned bucket a plain delete only
   * adds a delete marker and the bytes stay. Returns the versions deleted and their bytes.
   */
  purge(key: string): Promise<{ versions: number; freedBytes: number }>;
  /** The S3 Object Lock that holds the key now (a retention date ahead, or a legal hold), or undefined. */
  lockOf(key: string): Promise<ObjectLock | undefined>;
  /** Replaces the object's tags (e.g. `binvault-verified=ok`). */
  tag(key: string, tags: Record<string, string>): Promise<void>;
  /** A printable address of a key (`s3://bucket/key`). */
  url(key: string): string;
}

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** The alert types of the design; every alert is published once when it starts, once when it clears. */
export type AlertType =
  | 'gap'
  | 'verification-failed'
  | 'dump-missed'
  | 'shipping-stale'
  | 'retention-blocked'
  | 'retention-failed'
  | 'restore-failed'
  | 'restore-succeeded'
  | 'drill-failed'
  | 'drill-stale'
  | 'rto-at-risk';

export interface Alert {
  type: AlertType;
  host: string;
  severity: 'critical' | 'warning' | 'info';
  message: string;
  /** ISO 8601 UTC. */
  at: string;
  /** `started` (or a one-off event) and `cleared`. @default 'started' */
  state?: 'started' | 'cleared';
  key?: string;
  [detail: string]: unknown;
}

export interface Alerts {
  publish(alert: Alert): Promise<void>;
}

// The shipper's view of the database server.

/** The server side the shipper needs: who it is, and its binlogs. */
export interface BinlogSource {
  info(): Promise<ServerInfo>;
  flushBinaryLogs(): Promise<void>;
  currentBinlog(version: ServerInfo['version']): Promise<{ file: string; position: number }>;
}

// The restore workflow's ports: where a fresh instance comes from, and how a plan is applied to it.

/** The fresh instance a plan is applied to; `defaultsFile` is a 0600 option file for its admin user. */
export interface TargetInstance {
  host: string;
  port: number;
  socket?: string;
  user: string;
  defaultsFile: string;
  dataDir?: string;
}

/** How far a step of a restore is: bytes done, of a total when known. */
export interface ApplyProgress {
  phase: 'load' | 'download' | 'replay';
  bytes: number;
  total?: number;
}

/** What replaying the plan is expected to reach, read from the binlogs themselves. */
export interface ExpectedReach {
  /** Time of the last event applied. */
  time?: string;
  binlogFile?: string;
  binlogPosition?: number;
  /** MariaDB: the last complete transaction's GTID per domain. */
  gtids: string;
  events: number;
  /** Transactions (event groups) applied. */
  transactions?: number;
}

export interface ProvisionedInstance extends TargetInstance {
  id: string;
  kind: 'local' | 'ec2';
  dataDir?: string;
  /** The one command that connects to the new server from where the operator is (an EC2 instance: through SSM). */
  connect?: string;
}

/** Where a fresh instance comes from: a local server process, or an EC2 instance. */
export interface Provisioner {
  /** `sizing`: what the plan needs (an EC2 instance's type and volume; a local one ignores it). */
  provision(execution: string, sizing?: InstanceSizing): Promise<ProvisionedInstance>;
  cleanup(instance: ProvisionedInstance): Promise<void>;
  /**
   * Removes every instance of these executions (EC2: their `binvault:execution` tag) but those in
   * `except`: the ones a Provision started and never handed on (it failed or timed out after
   * starting them). Optional: a local provisioner runs in the process that started its servers and
   * cleans up its own failed start.
   * @returns the instances removed
   */
  cleanupExecutions?(executions: readonly string[], except: readonly string[]): Promise<string[]>;
}

/** How the load and the replay run next to the new server: in-process locally, SSM Run Command on AWS. */
export interface Applier {
  load(plan: RestorePlan, instance: ProvisionedInstance, execution: string): Promise<StepStatus>;
  replay(plan: RestorePlan, instance: ProvisionedInstance, execution: string): Promise<StepStatus>;
  check(step: StepStatus, instance: ProvisionedInstance, execution: string): Promise<StepStatus>;
  reached(instance: ProvisionedInstance, execution: string): Promise<{ gtids: string }>;
}

export interface StepStatus {
  status: 'InProgress' | 'Success';
  /** SSM command id on AWS. */
  commandId?: string;
  seconds?: number;
  bytes?: number;
  expected?: ExpectedReach;
  /** Where the replay's applier stopped, and the GTID position it recorded (the server's own word). */
  reached?: { binlogFile: string; binlogPosition: number; gtids: string };
  /** While in progress: the seconds the state machine waits before it asks again (its Wait state's SecondsPath). */
  wait?: number;
}

/**
 * What a drill compares of one instance: each table's CHECKSUM TABLE, row count and column
 * definitions, and the definitions of routines, triggers, events and views — by qualified name.
 */
export interface InstanceSnapshot {
  tables: Record<string, { checksum: string; rows: number; columns: string; primaryKey: boolean }>;
  /** `procedure db.name`, `trigger db.name`, … → the definition as the server shows it. */
  definitions: Record<string, string>;
}

/** Reads an instance's snapshot (drivers/mysql/compare.ts). */
export interface InstanceReader {
  snapshot(instance: ProvisionedInstance): Promise<InstanceSnapshot>;
}

/**
 * Takes an instance's snapshot where the instance is and writes it as JSON to `key`: in-process
 * locally; on AWS `binvault drill snapshot` run on the instance through SSM (a snapshot of many
 * tables is larger than the 24,000 characters of standard output GetCommandInvocation returns).
 * In progress until `Applier.check` says the command ended.
 */
export interface Snapshotter {
  snapshot(instance: ProvisionedInstance, execution: string, key: string): Promise<StepStatus>;
}

/** Starts a drill execution by name; a name already used (a duplicate event, a second schedule delivery) is `exists`, not an error. */
export interface DrillStarter {
  start(name: string, input: { host: string; window?: string; execution: string }): Promise<'started' | 'exists'>;
}

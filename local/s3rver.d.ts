declare module 's3rver' {
  import type { EventEmitter } from 'node:events';
  interface S3rverOptions {
    address?: string;
    port?: number;
    directory?: string;
    silent?: boolean;
    allowMismatchedSignatures?: boolean;
    configureBuckets?: { name: string; configs?: unknown[] }[];
  }
  class S3rver extends EventEmitter {
    public constructor(options: S3rverOptions);
    public run(): Promise<unknown>;
    public close(): Promise<void>;
  }
  export default S3rver;
}

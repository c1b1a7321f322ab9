import { Readable } from 'node:stream';
import { S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { S3Store } from '../../../../drivers/aws/s3.js';

interface Sent {
  method: string;
  query: Record<string, unknown>;
  headers: Record<string, string>;
}

/** An S3 client whose requests are recorded and answered as S3 answers a multipart upload. */
const recordingClient = (endpoint: string | undefined): { client: S3Client; sent: Sent[] } => {
  const sent: Sent[] = [];
  const answer = (statusCode: number, headers: Record<string, string>, body = '') => ({
    response: { statusCode, headers, body: Readable.from(body === '' ? [] : [Buffer.from(body)]) },
  });
  const client = new S3Client({
    region: 'eu-west-1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
    ...(endpoint ? { endpoint, forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED' as const } : {}),
    requestHandler: {
      handle: async (request: { method: string; query: Record<string, unknown>; headers: Record<string, string> }) => {
        sent.push({ method: request.method, query: { ...request.query }, headers: { ...request.headers } });
        if (request.method === 'POST' && 'uploads' in request.query) {
          return answer(200, { 'content-type': 'application/xml' }, '<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>u1</UploadId></InitiateMultipartUploadResult>');
        }
        if (request.method === 'PUT') return answer(200, { etag: `"e${String(request.query.partNumber)}"` });
        return answer(200, { 'content-type': 'application/xml' }, '<CompleteMultipartUploadResult><ETag>"x-2"</ETag></CompleteMultipartUploadResult>');
      },
    },
  });
  return { client, sent };
};

const twoParts = async function* (): AsyncGenerator<Buffer> {
  yield Buffer.alloc(5 << 20, 1);
  yield Buffer.alloc(1 << 20, 2);
};

const partsOf = (sent: Sent[]): Sent[] => sent.filter((s) => s.method === 'PUT' && 'partNumber' in s.query);

describe('the parts of an upload: unsigned payload on AWS (TLS and S3’s CRC32) and on loopback', () => {
  it('on AWS: UNSIGNED-PAYLOAD, with the SDK’s CRC32 of each part that S3 checks', async () => {
    const { client, sent } = recordingClient(undefined);
    await new S3Store({ bucket: 'b', partBytes: 5 << 20 }, client).putStream('k', twoParts());
    const parts = partsOf(sent);
    expect(parts).toHaveLength(2);
    for (const part of parts) {
      expect(part.headers['x-amz-content-sha256']).toBe('UNSIGNED-PAYLOAD');
      expect(part.headers['x-amz-checksum-crc32']).toMatch(/^[A-Za-z0-9+/]{6}==$/);
      // The signature covers the header that says the payload is unsigned.
      expect(part.headers.authorization).toMatch(/SignedHeaders=[^,]*x-amz-content-sha256/);
    }
  });

  it('on loopback: UNSIGNED-PAYLOAD', async () => {
    const endpoint = 'http://127.0.0.1:9000';
    const { client, sent } = recordingClient(endpoint);
    await new S3Store({ bucket: 'b', endpoint, partBytes: 5 << 20 }, client).putStream('k', twoParts());
    expect(partsOf(sent).map((p) => p.headers['x-amz-content-sha256'])).toEqual(['UNSIGNED-PAYLOAD', 'UNSIGNED-PAYLOAD']);
  });

  it('at any other endpoint (no checksum from its client), http or https: each part signed with its sha256', async () => {
    for (const endpoint of ['http://minio.internal:9000', 'https://s3.example.net']) {
      const { client, sent } = recordingClient(endpoint);
      await new S3Store({ bucket: 'b', endpoint, partBytes: 5 << 20 }, client).putStream('k', twoParts());
      const hashes = partsOf(sent).map((p) => p.headers['x-amz-content-sha256']);
      expect(hashes).toHaveLength(2);
      for (const hash of hashes) expect(hash).toMatch(/^[0-9a-f]{64}$/);
    }
  });
});

import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { S3Client } from '@aws-sdk/client-s3';
import { resolveBucketRegion } from '../../../../drivers/aws/s3.js';
import { startTestBucket, type TestBucket } from '../../../helpers/s3.js';

/**
 * The region of an AWS bucket when none is configured: asked of S3 once (GetBucketLocation). The
 * locator here is a client of the embedded S3-protocol endpoint, which answers as S3 does for a
 * bucket in us-east-1 (an empty LocationConstraint).
 */
describe('resolveBucketRegion', () => {
  let bucket: TestBucket;
  beforeAll(async () => {
    bucket = await startTestBucket('located');
  });
  afterAll(() => bucket.close());
  afterEach(() => vi.unstubAllEnvs());

  /** A client of the local endpoint that records the commands it sends. */
  const locatorOf = (): { locator: S3Client; sent: string[] } => {
    const locator = new S3Client({ region: 'us-east-1', endpoint: bucket.endpoint.url, forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
    const sent: string[] = [];
    locator.middlewareStack.add((next, context) => async (args) => {
      sent.push(String(context.commandName));
      return next(args);
    }, { step: 'initialize' });
    return { locator, sent };
  };

  const noRegionConfigured = (): void => {
    vi.stubEnv('AWS_REGION', '');
    vi.stubEnv('AWS_DEFAULT_REGION', '');
    vi.stubEnv('AWS_CONFIG_FILE', '/nonexistent/binvault-test-config');
    vi.stubEnv('AWS_PROFILE', 'binvault-test-none');
  };

  it('asks S3 for the bucket’s location once when neither AWS_REGION nor the profile gives a region', async () => {
    noRegionConfigured();
    const { locator, sent } = locatorOf();
    expect(await resolveBucketRegion('located', locator)).toBe('us-east-1');
    expect(await resolveBucketRegion('located', locator)).toBe('us-east-1');
    expect(sent).toEqual(['GetBucketLocationCommand']);
  });

  it('takes AWS_REGION first, asking nothing', async () => {
    vi.stubEnv('AWS_REGION', 'ap-northeast-2');
    const { locator, sent } = locatorOf();
    expect(await resolveBucketRegion('elsewhere', locator)).toBe('ap-northeast-2');
    expect(sent).toEqual([]);
  });

  it('says in one line that no region can be found when the location cannot be read', async () => {
    noRegionConfigured();
    const { locator } = locatorOf();
    await expect(resolveBucketRegion('no-such-bucket', locator)).rejects.toThrow(/^no AWS region: set AWS_REGION \(or a region in the profile\); the location of bucket 'no-such-bucket' could not be read: .*bucket does not exist/);
  });
});

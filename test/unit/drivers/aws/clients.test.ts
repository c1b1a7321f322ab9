import { afterEach, describe, expect, it, vi } from 'vitest';
import { createS3Client, regionOfLocation } from '../../../../drivers/aws/s3.js';
import { sfnClientFor, stateMachineRegion } from '../../../../drivers/aws/sfn.js';

describe('AWS clients: region and integrity', () => {
  afterEach(() => vi.unstubAllEnvs());

  it('keeps the SDK’s default checksums on AWS, and follows S3’s region redirects', async () => {
    vi.stubEnv('AWS_REGION', 'ap-northeast-2');
    const client = createS3Client({ bucket: 'b' });
    expect(await client.config.requestChecksumCalculation()).toBe('WHEN_SUPPORTED');
    expect(await client.config.responseChecksumValidation()).toBe('WHEN_SUPPORTED');
    expect(client.config.followRegionRedirects).toBe(true);
    expect(await client.config.region()).toBe('ap-northeast-2');
  });

  it('computes checksums only where required at an S3-protocol endpoint (the embedded one stores aws-chunked bodies verbatim)', async () => {
    const client = createS3Client({ endpoint: 'http://127.0.0.1:9' });
    expect(await client.config.requestChecksumCalculation()).toBe('WHEN_REQUIRED');
    expect(await client.config.responseChecksumValidation()).toBe('WHEN_REQUIRED');
  });

  it('reads GetBucketLocation’s answer as a region', () => {
    expect(regionOfLocation(undefined)).toBe('us-east-1');
    expect(regionOfLocation('')).toBe('us-east-1');
    expect(regionOfLocation('EU')).toBe('eu-west-1');
    expect(regionOfLocation('ap-northeast-2')).toBe('ap-northeast-2');
  });

  it('signs Step Functions requests for the state machine’s own region, whatever AWS_REGION says', async () => {
    vi.stubEnv('AWS_REGION', 'us-east-1');
    const arn = 'arn:aws:states:eu-central-1:123456789012:stateMachine:binvault-restore-prod';
    expect(stateMachineRegion(arn)).toBe('eu-central-1');
    expect(await sfnClientFor(arn).config.region()).toBe('eu-central-1');
    expect(() => stateMachineRegion('binvault-restore-prod')).toThrow(/BINVAULT_RESTORE_STATE_MACHINE_ARN 'binvault-restore-prod' is not a state machine ARN/);
  });
});

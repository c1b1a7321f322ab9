import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, describe, expect, it } from 'vitest';
import { settingsFor } from '../../../core/config.js';
import { ssmParameters } from '../../../drivers/aws/ssm-parameters.js';

describe('per-host settings from the environment and SSM Parameter Store (SDK-level fake)', () => {
  const ssm = mockClient(SSMClient);
  afterAll(() => ssm.restore());

  it('uses the environment alone when no SSM path is configured', async () => {
    const s = await settingsFor('db1', ssmParameters, { BINVAULT_STALE_SECONDS: '120', BINVAULT_RECOVERY_WINDOW_DAYS: '14' });
    expect(s.thresholds.staleSeconds).toBe(120);
    expect(s.policy.recoveryWindowSeconds).toBe(14 * 86_400);
    expect(ssm.commandCalls(GetParameterCommand)).toHaveLength(0);
  });

  it('lays the stack’s parameter, then the host’s, over the environment', async () => {
    ssm.on(GetParameterCommand, { Name: '/binvault/prod/policy' }).resolves({ Parameter: { Value: JSON.stringify({ recoveryWindowDays: 30, staleSeconds: 900 }) } });
    ssm.on(GetParameterCommand, { Name: '/binvault/prod/policy/db2' }).resolves({ Parameter: { Value: JSON.stringify({ recoveryWindowDays: 3, keepWeeklyDumps: 4 }) } });
    ssm.on(GetParameterCommand, { Name: '/binvault/prod/policy/db1' }).rejects(Object.assign(new Error('not found'), { name: 'ParameterNotFound' }));
    const env = { BINVAULT_SSM_POLICY: '/binvault/prod/policy', BINVAULT_STALE_SECONDS: '120' };

    const db1 = await settingsFor('db1', ssmParameters, env);
    const db2 = await settingsFor('db2', ssmParameters, env);

    expect(db1).toMatchObject({ thresholds: { staleSeconds: 900 }, policy: { recoveryWindowSeconds: 30 * 86_400, weeklyDumps: 0 } });
    expect(db2).toMatchObject({ thresholds: { staleSeconds: 900 }, policy: { recoveryWindowSeconds: 3 * 86_400, weeklyDumps: 4 } });
    expect(ssm.commandCalls(GetParameterCommand).map((c) => c.args[0].input.Name)).toEqual(
      expect.arrayContaining(['/binvault/prod/policy', '/binvault/prod/policy/db1', '/binvault/prod/policy/db2']),
    );
  });
});

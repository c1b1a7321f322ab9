import { LambdaClient } from '@aws-sdk/client-lambda';
import { SNSClient } from '@aws-sdk/client-sns';
import { join } from 'node:path';
import { parseConfig, type Config, type ParameterReader } from '../../core/config.js';
import { systemClock, type Alerts, type Clock, type ObjectStore } from '../../core/ports.js';
import { lambdaInvoker, type Invoker } from '../../drivers/aws/invoke.js';
import { S3Store } from '../../drivers/aws/s3.js';
import { SnsAlerts } from '../../drivers/aws/sns-alerts.js';
import { ssmParameters } from '../../drivers/aws/ssm-parameters.js';
import { FileAlerts } from '../../drivers/local/file-alerts.js';

/**
 * What every function works with: its configuration and the ports. On Lambda they come from the
 * environment (`lambdaDeps`); the local runtime builds its own and hands them to the same handlers.
 */
export interface FunctionDeps {
  config: Config;
  /** The store of a bucket (an S3 event names its bucket). */
  store(bucket: string): ObjectStore;
  alerts: Alerts;
  clock: Clock;
  /** SSM Parameter Store, for per-host policy; none locally. */
  parameters?: ParameterReader;
  /**
   * Starts a function again with an event (Lambda's asynchronous Invoke; the local runtime queues
   * it): a verify that does not fit in one invocation goes on in the next. Without it, such an
   * object gets a failed record.
   */
  invoke?: Invoker;
}

/** One S3 driver per bucket, created once. */
export const storesFor = (endpoint: string | undefined): ((bucket: string) => ObjectStore) => {
  const stores = new Map<string, S3Store>();
  return (bucket) => {
    let store = stores.get(bucket);
    if (!store) stores.set(bucket, (store = new S3Store({ bucket, ...(endpoint ? { endpoint } : {}) })));
    return store;
  };
};

let cached: FunctionDeps | undefined;

/**
 * The functions' dependencies on Lambda, made once per cold start: the configuration from the
 * environment, S3, SNS when BINVAULT_ALERT_TOPIC_ARN is set (else the alerts file), SSM parameters.
 */
export const lambdaDeps = (): FunctionDeps => {
  if (!cached) {
    const config = parseConfig(process.env, { hostname: 'lambda', home: '/tmp', stateDir: '/tmp/binvault' });
    cached = {
      config,
      store: storesFor(config.s3Endpoint),
      alerts: config.alertTopicArn ? new SnsAlerts(new SNSClient({}), config.alertTopicArn) : new FileAlerts(join(config.stateDir, 'alerts.jsonl')),
      clock: systemClock,
      parameters: ssmParameters,
      invoke: lambdaInvoker(new LambdaClient({})),
    };
  }
  return cached;
};

import { SNSClient } from '@aws-sdk/client-sns';
import { join } from 'node:path';
import type { Alerts } from '../../core/ports.js';
import { FileAlerts } from '../../drivers/local/file-alerts.js';
import { S3Store } from '../../drivers/aws/s3.js';
import { SnsAlerts } from '../../drivers/aws/sns-alerts.js';

// The SDK's Node 22 notice would be a log line per cold start on the local runtime (Node 20).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const stores = new Map<string, S3Store>();

/** One S3 driver per bucket, created once (AWS, or the endpoint in BINVAULT_S3_ENDPOINT). */
export const storeFor = (bucket: string): S3Store => {
  let store = stores.get(bucket);
  if (!store) {
    const endpoint = process.env.BINVAULT_S3_ENDPOINT;
    store = new S3Store({ bucket, ...(endpoint ? { endpoint } : {}) });
    stores.set(bucket, store);
  }
  return store;
};

let alerts: Alerts | undefined;

/** SNS when BINVAULT_ALERT_TOPIC_ARN is set (AWS); otherwise the local runtime's alerts file. */
export const alertsFromEnvironment = (): Alerts => {
  if (!alerts) {
    const topic = process.env.BINVAULT_ALERT_TOPIC_ARN;
    alerts = topic
      ? new SnsAlerts(new SNSClient({}), topic)
      : new FileAlerts(join(process.env.BINVAULT_STATE_DIR ?? '.binvault', 'alerts.jsonl'));
  }
  return alerts;
};

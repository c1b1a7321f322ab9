import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { Alert, Alerts } from '../../core/ports.js';

/** Alerts to one SNS topic, with the type (and host, severity) as message attributes for filtering. */
export class SnsAlerts implements Alerts {
  public constructor(
    private readonly client: SNSClient,
    private readonly topicArn: string,
  ) {}

  public async publish(alert: Alert): Promise<void> {
    const state = alert.state === 'cleared' ? 'cleared' : 'started';
    await this.client.send(
      new PublishCommand({
        TopicArn: this.topicArn,
        Subject: `binvault ${alert.type}${state === 'cleared' ? ' cleared' : ''}: ${alert.host}`.slice(0, 100),
        Message: JSON.stringify(alert, null, 2),
        MessageAttributes: {
          type: { DataType: 'String', StringValue: alert.type },
          host: { DataType: 'String', StringValue: alert.host },
          severity: { DataType: 'String', StringValue: alert.severity },
          state: { DataType: 'String', StringValue: state },
        },
      }),
    );
  }
}

/**
 * Where notifications go. On AWS (`ALERTS_TOPIC_ARN` set) they are published to the alerts SNS topic, one
 * message per channel with message attributes the per-channel subscriptions filter on. Locally they are logged
 * (one JSON line each) and Slack and webhook channels are posted to directly, so `npm start` shows alerts arrive.
 */
import { PublishCommand, type PublishCommandInput, SNSClient } from '@aws-sdk/client-sns';
import { deliverToChannel } from '#shared/domains/monitoring/delivery';
import { describe, headline, type Notification } from '#shared/domains/monitoring/notification';
import { describeError, log } from '#shared/log';

export interface NotificationPublisher {
  publish(notification: Notification): Promise<void>;
}

let sns: SNSClient | undefined;
export function snsClient(): SNSClient {
  sns ??= new SNSClient({});
  return sns;
}

/** Email subjects: ASCII, no line breaks, under 100 characters (SNS rejects anything else). */
function emailSubject(notification: Notification): string {
  const ascii = headline(notification).replace(/[^\x20-\x7e]/g, '?');
  return ascii.length > 99 ? `${ascii.slice(0, 96)}...` : ascii;
}

const attribute = (value: string) => ({ DataType: 'String', StringValue: value });

/**
 * The Publish request of one notification. `MessageStructure: json` gives each protocol its own body: the
 * Lambda subscriber (Slack, webhooks) gets the notification JSON (`default`), email a readable text, SMS one line.
 */
export function publishInput(topicArn: string, notification: Notification): PublishCommandInput {
  const json = JSON.stringify(notification);
  return {
    TopicArn: topicArn,
    MessageStructure: 'json',
    Message: JSON.stringify({ default: json, email: describe(notification), sms: headline(notification).slice(0, 140) }),
    ...(notification.channel.type === 'email' ? { Subject: emailSubject(notification) } : {}),
    MessageAttributes: {
      severity: attribute(notification.severity),
      datacenter_id: attribute(notification.datacenter_id ?? 'none'),
      source: attribute(notification.source),
      channel: attribute(notification.channel.type),
      channel_id: attribute(notification.channel.id),
    },
  };
}

export function snsPublisher(topicArn: string): NotificationPublisher {
  return {
    async publish(notification) {
      await snsClient().send(new PublishCommand(publishInput(topicArn, notification)));
    },
  };
}

const inFlight = new Set<Promise<void>>();

/**
 * Local stand-in for SNS. The log line leaves out the target (a Slack webhook URL is a secret). Posting happens
 * in the background, like SNS after Publish: a slow webhook never holds up the API request that raised the alert.
 */
export const localPublisher: NotificationPublisher = {
  async publish(notification) {
    const { target: _target, ...channel } = notification.channel;
    log.info('alert notification', { notification: { ...notification, channel } });
    if (notification.channel.type !== 'slack' && notification.channel.type !== 'webhook') return;
    const delivery = deliverToChannel(notification)
      .then((outcome) =>
        log.info('alert notification delivered', { delivery_id: notification.delivery_id, channel_id: channel.id, outcome }),
      )
      .catch((error: unknown) =>
        log.error('alert notification not delivered', {
          delivery_id: notification.delivery_id,
          channel_id: channel.id,
          ...describeError(error),
        }),
      )
      .finally(() => inFlight.delete(delivery));
    inFlight.add(delivery);
  },
};

/** Waits until every local delivery started so far has finished (tests; a graceful local shutdown). */
export async function settleLocalDeliveries(): Promise<void> {
  while (inFlight.size > 0) await Promise.all([...inFlight]);
}

let override: NotificationPublisher | undefined;

export function publisher(): NotificationPublisher {
  if (override) return override;
  const topicArn = process.env.ALERTS_TOPIC_ARN;
  return topicArn ? snsPublisher(topicArn) : localPublisher;
}

/** Tests swap the publisher; `undefined` restores the environment's choice. */
export function setPublisher(next: NotificationPublisher | undefined): void {
  override = next;
}

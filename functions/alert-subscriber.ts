/**
 * The SNS subscriber for Slack and webhook channels (subscribed through the `slack` and `webhook` aliases, each
 * with its own filter policy and dead-letter queue). Each record is one notification: it is posted once per
 * delivery id (SNS delivers at least once), with retries; a final failure throws so SNS retries the delivery and,
 * when its policy is exhausted, moves the message to the subscription's DLQ.
 */
import type { SNSEvent } from 'aws-lambda';
import { deliverToChannel } from '#shared/domains/monitoring/delivery';
import { notificationSchema } from '#shared/domains/monitoring/notification';
import { log } from '#shared/log';

export async function handler(event: SNSEvent): Promise<void> {
  for (const record of event.Records) {
    let raw: unknown;
    try {
      raw = JSON.parse(record.Sns.Message);
    } catch {
      raw = undefined;
    }
    const parsed = notificationSchema.safeParse(raw);
    if (!parsed.success) {
      // A malformed message will never deliver: retrying it would only delay the DLQ; log and drop it.
      log.error('alert subscriber: not a notification', { message_id: record.Sns.MessageId });
      continue;
    }
    const notification = parsed.data;
    const outcome = await deliverToChannel(notification);
    log.info('alert notification delivered', {
      message_id: record.Sns.MessageId,
      delivery_id: notification.delivery_id,
      channel_id: notification.channel.id,
      outcome,
    });
  }
}

/**
 * One notification: one alert transition for one channel of one alert rule. The same JSON is the SNS message
 * (`default` part), the webhook body and the local log line, so every path carries the same facts.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { ALERT_STATUSES, SEVERITIES } from '#shared/domains/monitoring/alert';
import { CHANNEL_TYPES } from '#shared/domains/monitoring/alert-configuration';

export const NOTIFICATION_KINDS = ['firing', 'escalated', 'repeat', 'resolved'] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

export const notificationSchema = z.object({
  /** Dedup key of this delivery: the same alert version, transition and channel always give the same id. */
  delivery_id: z.string(),
  fingerprint: z.string(),
  transition: z.enum(NOTIFICATION_KINDS),
  alert_id: z.string(),
  alert_version: z.number().int(),
  severity: z.enum(SEVERITIES),
  status: z.enum(ALERT_STATUSES),
  message: z.string(),
  source: z.string(),
  datacenter_id: z.string().nullable(),
  related_entity: z.string().nullable(),
  related_id: z.string().nullable(),
  occurred_at: z.string(),
  channel: z.object({
    /** `<rule id>:<channel name>`: the `channel_id` message attribute. */
    id: z.string(),
    rule_id: z.string(),
    name: z.string(),
    type: z.enum(CHANNEL_TYPES),
    target: z.string(),
  }),
});
export type Notification = z.infer<typeof notificationSchema>;

export function deliveryId(parts: {
  fingerprint: string;
  alertId: string;
  version: number;
  transition: NotificationKind;
  channelId: string;
}) {
  const basis = JSON.stringify([parts.fingerprint, parts.alertId, parts.version, parts.transition, parts.channelId]);
  return createHash('sha256').update(basis).digest('hex').slice(0, 40);
}

const HEADLINE: Record<NotificationKind, string> = {
  firing: 'FIRING',
  escalated: 'ESCALATED',
  repeat: 'STILL FIRING',
  resolved: 'RESOLVED',
};

/** One line a person reads first: Slack text, SMS body, email subject. */
export function headline(notification: Notification): string {
  return `[${notification.severity.toUpperCase()}] ${HEADLINE[notification.transition]}: ${notification.message}`;
}

/** A readable multi-line text for email and Slack. */
export function describe(notification: Notification): string {
  const lines = [
    headline(notification),
    `source: ${notification.source}`,
    `datacenter: ${notification.datacenter_id ?? 'none'}`,
    ...(notification.related_entity ? [`related: ${notification.related_entity} ${notification.related_id ?? ''}`.trimEnd()] : []),
    `alert: ${notification.alert_id} (status ${notification.status})`,
    `fingerprint: ${notification.fingerprint}`,
    `at: ${notification.occurred_at}`,
  ];
  return lines.join('\n');
}

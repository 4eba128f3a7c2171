/**
 * The fan-out: on every alert transition, the enabled alert rules that match the alert (severity, datacenter,
 * source, tags) produce one notification per channel, handed to the publisher (SNS on AWS, local otherwise).
 *
 * Registration: `alerts.ts` calls `ensureFanout()` when it loads. Every path that changes an alert (the API, the
 * sync worker's threshold evaluation, anything later) goes through alerts.ts, so nothing can raise an alert without
 * the fan-out listening; and because this module imports only notifications.ts (not alerts.ts), there is no cycle.
 *
 * What is sent (Alertmanager-like): `opened`, `escalated` and `unsuppressed` always; `repeated` only when the
 * rule's repeat interval has passed since that channel last heard about the alert (and not while acknowledged:
 * someone is on it); `resolved` only with `send_resolved` and only to channels that were told it fired;
 * `acknowledged` and `suppressed` nothing.
 */
import { repo, tagIdsOf } from '#shared/db/repository';
import {
  type AlertChannel,
  alertConfigurationEntity,
  channelId,
  channelsOf,
  DEFAULT_REPEAT_INTERVAL_MINUTES,
} from '#shared/domains/monitoring/alert-configuration';
import { claimRepeat, markNotified, wasNotified } from '#shared/domains/monitoring/delivery-store';
import { deliveryId, type Notification, type NotificationKind, notificationSchema } from '#shared/domains/monitoring/notification';
import { type AlertTransition, onAlertChanged } from '#shared/domains/monitoring/notifications';
import { publisher } from '#shared/domains/monitoring/publisher';
import { describeError, log } from '#shared/log';
import type { EntityDefinition, EntityRecord } from '#shared/model/entity';
import { clock } from '#shared/model/ids';

const KIND_OF: Partial<Record<AlertTransition, NotificationKind>> = {
  opened: 'firing',
  unsuppressed: 'firing',
  escalated: 'escalated',
  repeated: 'repeat',
  resolved: 'resolved',
};

/** Every alert rule; there are few (tens), so one paged scan of the type index per transition is cheap. */
export async function allAlertRules(): Promise<EntityRecord[]> {
  return repo().listAll(alertConfigurationEntity);
}

const asList = (value: unknown): string[] | undefined =>
  Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : undefined;

/** The tag names (lower case) an alert carries: its related object's tags and a `tag` label. */
async function tagNamesOf(alert: EntityRecord): Promise<Set<string>> {
  const names = new Set<string>();
  const labels = alert.labels as Record<string, string> | undefined;
  if (typeof labels?.tag === 'string') names.add(labels.tag.toLowerCase());
  const relatedId = typeof alert.related_id === 'string' ? alert.related_id : undefined;
  const entity = relatedId ? await taggableEntity(alert.related_entity) : undefined;
  if (!entity || !relatedId) return names;
  const related = await repo().get(entity, relatedId);
  if (!related) return names;
  const { tagEntity } = await import('#shared/domains/inventory/tag');
  const tags = await repo().batchGet(tagEntity, tagIdsOf(related));
  for (const tag of tags.values()) names.add(String(tag.name).toLowerCase());
  return names;
}

/** Imported lazily: the inventory entities are not needed unless a rule filters on tags. */
async function taggableEntity(kind: unknown): Promise<EntityDefinition | undefined> {
  switch (kind) {
    case 'server':
      return (await import('#shared/domains/inventory/server')).serverEntity;
    case 'vm':
      return (await import('#shared/domains/inventory/vm')).vmEntity;
    case 'storage_bay':
      return (await import('#shared/domains/inventory/storage-bay')).storageBayEntity;
    default:
      return undefined;
  }
}

/** The enabled rules whose filters the alert passes. */
export async function matchingRules(alert: EntityRecord, rules: readonly EntityRecord[]): Promise<EntityRecord[]> {
  let tags: Set<string> | undefined;
  const matched: EntityRecord[] = [];
  for (const rule of rules) {
    if (rule.enabled === false) continue;
    if (!asList(rule.severities)?.includes(String(alert.severity))) continue;
    const datacenters = asList(rule.datacenter_ids);
    if (datacenters && !(typeof alert.datacenter_id === 'string' && datacenters.includes(alert.datacenter_id))) continue;
    const sources = asList(rule.sources);
    if (sources && !sources.includes(String(alert.source))) continue;
    const wanted = asList(rule.tags);
    if (wanted) {
      tags ??= await tagNamesOf(alert);
      const have = tags;
      if (!wanted.some((name) => have.has(name.toLowerCase()))) continue;
    }
    matched.push(rule);
  }
  return matched;
}

export function buildNotification(alert: EntityRecord, kind: NotificationKind, rule: EntityRecord, channel: AlertChannel): Notification {
  const id = channelId(rule.id, channel.name);
  const fingerprint = String(alert.fingerprint);
  const nullable = (value: unknown) => (typeof value === 'string' ? value : null);
  return notificationSchema.parse({
    delivery_id: deliveryId({ fingerprint, alertId: alert.id, version: alert.version, transition: kind, channelId: id }),
    fingerprint,
    transition: kind,
    alert_id: alert.id,
    alert_version: alert.version,
    severity: alert.severity,
    status: alert.status,
    message: alert.message,
    source: alert.source,
    datacenter_id: nullable(alert.datacenter_id),
    related_entity: nullable(alert.related_entity),
    related_id: nullable(alert.related_id),
    occurred_at: typeof alert.updated_at === 'string' ? alert.updated_at : clock.now().toISOString(),
    channel: { id, rule_id: rule.id, name: channel.name, type: channel.type, target: channel.target },
  });
}

/** Whether this channel gets this transition now; records the notification time it relies on later. */
async function shouldNotify(alert: EntityRecord, kind: NotificationKind, rule: EntityRecord, id: string): Promise<boolean> {
  switch (kind) {
    case 'firing':
    case 'escalated':
      await markNotified(alert.id, id);
      return true;
    case 'repeat': {
      if (alert.status === 'acknowledged') return false;
      const minutes = typeof rule.repeat_interval_minutes === 'number' ? rule.repeat_interval_minutes : DEFAULT_REPEAT_INTERVAL_MINUTES;
      return claimRepeat(alert.id, id, minutes * 60_000);
    }
    case 'resolved':
      return rule.send_resolved !== false && (await wasNotified(alert.id, id));
  }
}

/** The notifications one transition produces (bookkeeping included); exported for tests. */
export async function notificationsFor(alert: EntityRecord, transition: AlertTransition): Promise<Notification[]> {
  const kind = KIND_OF[transition];
  if (!kind) return [];
  const rules = await matchingRules(alert, await allAlertRules());
  const notifications: Notification[] = [];
  for (const rule of rules) {
    for (const channel of channelsOf(rule)) {
      if (await shouldNotify(alert, kind, rule, channelId(rule.id, channel.name))) {
        notifications.push(buildNotification(alert, kind, rule, channel));
      }
    }
  }
  return notifications;
}

/**
 * The listener. It never fails the alert write that called it: the alert is stored either way, and a lost
 * notification is logged (SNS Publish itself is retried by the SDK).
 */
export async function fanOut(alert: EntityRecord, transition: AlertTransition): Promise<void> {
  let notifications: Notification[];
  try {
    notifications = await notificationsFor(alert, transition);
  } catch (error) {
    log.error('alert fan-out failed', { alert_id: alert.id, transition, ...describeError(error) });
    return;
  }
  for (const notification of notifications) {
    try {
      await publisher().publish(notification);
    } catch (error) {
      log.error('alert notification not published', {
        alert_id: alert.id,
        delivery_id: notification.delivery_id,
        channel_id: notification.channel.id,
        ...describeError(error),
      });
    }
  }
}

let registered = false;

/** Registers the fan-out once per process (idempotent). */
export function ensureFanout(): void {
  if (registered) return;
  registered = true;
  onAlertChanged(fanOut);
}

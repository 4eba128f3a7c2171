/**
 * Native SNS subscriptions for email and SMS channels, kept in step with the alert rules (channels are runtime
 * data, so CDK cannot declare them). Slack and webhook channels need none of their own: the static subscriptions
 * of the subscriber Lambda (lib/constructs/alerting.ts) take every `channel = slack | webhook` message.
 *
 * SNS knows one subscription per (topic, protocol, endpoint): two rules mailing the same address share it, so the
 * desired state is grouped by endpoint and its filter policy lists every channel id sent there. What exists is
 * kept in one bookkeeping item (not on the rule items: a reconcile must not bump a rule's version or write audit
 * records, nor race a PATCH of the rule), guarded by a revision so concurrent reconciles cannot lose an ARN.
 * Without ALERTS_TOPIC_ARN (the local runtime) there is nothing to reconcile.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { SetSubscriptionAttributesCommand, SubscribeCommand, UnsubscribeCommand } from '@aws-sdk/client-sns';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { tableName } from '#shared/config';
import { documentClient } from '#shared/db/client';
import { KEY_ATTRIBUTES } from '#shared/db/table';
import { type ChannelType, channelId, channelsOf } from '#shared/domains/monitoring/alert-configuration';
import { allAlertRules } from '#shared/domains/monitoring/fanout';
import { snsClient } from '#shared/domains/monitoring/publisher';
import { describeError, log } from '#shared/log';
import type { EntityRecord } from '#shared/model/entity';

const STATE_KEY = { pk: 'ALERT_SUBSCRIPTIONS', sk: '#META' };

type NativeType = Extract<ChannelType, 'email' | 'sms'>;

export interface DesiredSubscription {
  type: NativeType;
  endpoint: string;
  /** JSON of the filter policy: every channel id whose notifications go to this endpoint. */
  filterPolicy: string;
}

const storedSchema = z.object({
  arn: z.string(),
  type: z.enum(['email', 'sms']),
  endpoint: z.string(),
  filter_policy: z.string(),
});
type StoredSubscription = z.infer<typeof storedSchema>;

/** Email addresses are matched case-insensitively (SNS does); phone numbers are already canonical E.164. */
const endpointKey = (type: NativeType, endpoint: string) => `${type}:${type === 'email' ? endpoint.toLowerCase() : endpoint}`;

export function desiredSubscriptions(rules: readonly EntityRecord[]): Map<string, DesiredSubscription> {
  const grouped = new Map<string, { type: NativeType; endpoint: string; ids: string[] }>();
  for (const rule of rules) {
    if (rule.enabled === false) continue;
    for (const channel of channelsOf(rule)) {
      if (channel.type !== 'email' && channel.type !== 'sms') continue;
      const key = endpointKey(channel.type, channel.target);
      const entry = grouped.get(key) ?? { type: channel.type, endpoint: channel.target, ids: [] };
      entry.ids.push(channelId(rule.id, channel.name));
      grouped.set(key, entry);
    }
  }
  const desired = new Map<string, DesiredSubscription>();
  for (const [key, entry] of grouped) {
    desired.set(key, { type: entry.type, endpoint: entry.endpoint, filterPolicy: JSON.stringify({ channel_id: entry.ids.sort() }) });
  }
  return desired;
}

function deadLetterArns(): Partial<Record<ChannelType, string>> {
  const parsed = z.record(z.string(), z.string()).safeParse(JSON.parse(process.env.ALERT_DLQ_ARNS ?? '{}'));
  return parsed.success ? (parsed.data as Partial<Record<ChannelType, string>>) : {};
}

async function readState(): Promise<{ revision: number; subscriptions: Map<string, StoredSubscription> }> {
  const result = await documentClient().send(new GetCommand({ TableName: tableName(), Key: STATE_KEY, ConsistentRead: true }));
  const subscriptions = new Map<string, StoredSubscription>();
  const raw = (result.Item?.subscriptions ?? {}) as Record<string, unknown>;
  for (const [key, value] of Object.entries(raw)) {
    const parsed = storedSchema.safeParse(value);
    if (parsed.success) subscriptions.set(key, parsed.data);
  }
  return { revision: typeof result.Item?.revision === 'number' ? result.Item.revision : 0, subscriptions };
}

async function writeState(revision: number, subscriptions: Map<string, StoredSubscription>): Promise<void> {
  await documentClient().send(
    new PutCommand({
      TableName: tableName(),
      Item: {
        ...STATE_KEY,
        [KEY_ATTRIBUTES.type]: 'alert_subscriptions',
        revision: revision + 1,
        subscriptions: Object.fromEntries(subscriptions),
      },
      ConditionExpression: 'attribute_not_exists(pk) OR revision = :revision',
      ExpressionAttributeValues: { ':revision': revision },
    }),
  );
}

async function subscribe(topicArn: string, desired: DesiredSubscription): Promise<string> {
  const deadLetter = deadLetterArns()[desired.type];
  const result = await snsClient().send(
    new SubscribeCommand({
      TopicArn: topicArn,
      Protocol: desired.type,
      Endpoint: desired.endpoint,
      // An email subscription stays pending until its owner confirms; the real ARN is still needed to unsubscribe.
      ReturnSubscriptionArn: true,
      Attributes: {
        FilterPolicy: desired.filterPolicy,
        FilterPolicyScope: 'MessageAttributes',
        ...(deadLetter ? { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: deadLetter }) } : {}),
      },
    }),
  );
  if (!result.SubscriptionArn) throw new Error('SNS Subscribe returned no subscription ARN');
  return result.SubscriptionArn;
}

/** Brings the topic's email and SMS subscriptions in line with the enabled rules. */
export async function reconcileSubscriptions(): Promise<void> {
  const topicArn = process.env.ALERTS_TOPIC_ARN;
  if (!topicArn) return;
  for (let attempt = 0; attempt < 3; attempt++) {
    const state = await readState();
    const desired = desiredSubscriptions(await allAlertRules());
    const next = new Map<string, StoredSubscription>();
    for (const [key, wanted] of desired) {
      const existing = state.subscriptions.get(key);
      if (existing) {
        if (existing.filter_policy !== wanted.filterPolicy) {
          await snsClient().send(
            new SetSubscriptionAttributesCommand({
              SubscriptionArn: existing.arn,
              AttributeName: 'FilterPolicy',
              AttributeValue: wanted.filterPolicy,
            }),
          );
        }
        next.set(key, { ...existing, filter_policy: wanted.filterPolicy });
      } else {
        const arn = await subscribe(topicArn, wanted);
        next.set(key, { arn, type: wanted.type, endpoint: wanted.endpoint, filter_policy: wanted.filterPolicy });
      }
    }
    for (const [key, existing] of state.subscriptions) {
      if (!desired.has(key)) await snsClient().send(new UnsubscribeCommand({ SubscriptionArn: existing.arn }));
    }
    try {
      await writeState(state.revision, next);
      return;
    } catch (error) {
      // Another reconcile wrote first: start over from its state (Subscribe is idempotent for equal attributes).
      if (error instanceof ConditionalCheckFailedException) continue;
      throw error;
    }
  }
  throw new Error('alert subscriptions are being reconciled concurrently; gave up after 3 attempts');
}

/**
 * After a rule write: the rule is stored whatever SNS answers, so a failure is logged, not returned as a 5xx;
 * the next rule write reconciles again from the full set of rules.
 */
export async function reconcileAfterRuleChange(ruleId: string): Promise<void> {
  try {
    await reconcileSubscriptions();
  } catch (error) {
    log.error('alert subscriptions not reconciled', { rule_id: ruleId, ...describeError(error) });
  }
}

/**
 * Alert rules (`/v1/alert-configurations`): which alerts (severity, and optionally datacenter, source, tag) go to
 * which notification channels (email, SMS, Slack, generic webhook), how often a still-firing alert is repeated and
 * whether resolutions are sent. A channel is addressed as `<rule id>:<channel name>` (its `channel_id`): that id is
 * the SNS message attribute every per-channel subscription filters on.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { SEVERITIES } from '#shared/domains/monitoring/alert';
import { isLinkLocalOrMetadata, isLoopback } from '#shared/domains/sync/endpoint-policy';
import type { ErrorDetail } from '#shared/http/errors';
import { defineEntity, type EntityDefinition, type EntityRecord } from '#shared/model/entity';
import { text, uuid } from '#shared/model/fields';

export const CHANNEL_TYPES = ['email', 'sms', 'slack', 'webhook'] as const;
export type ChannelType = (typeof CHANNEL_TYPES)[number];

/** Alertmanager's default `repeat_interval` (4 h). */
export const DEFAULT_REPEAT_INTERVAL_MINUTES = 240;

const EMAIL = /^[^\s@<>()",;]{1,64}@[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/i;
/** E.164: a plus, a country code that does not start with 0, at most 15 digits in all. */
const E164 = /^\+[1-9]\d{6,14}$/;

/**
 * Where Slack and webhook notifications may be posted (SSRF guard, as for vCenter URLs): https only; http only
 * to a loopback host in the local runtime (a webhook sink on the developer's machine); link-local and cloud
 * metadata addresses never. Checked when a rule is written and again before every delivery.
 */
export function webhookUrlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be a URL such as https://hooks.example.com/alerts';
  }
  if (url.username || url.password) return 'must not carry credentials in the URL';
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (isLinkLocalOrMetadata(host)) return 'must not point at a link-local or metadata address';
  const local = process.env.LOCAL_RUNTIME === 'true';
  if (isLoopback(host)) {
    if (!local) return 'must not point at a loopback address';
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must use https';
    return undefined;
  }
  if (url.protocol !== 'https:') return 'must use https';
  if (isIP(host) === 0 && !/^[a-z0-9.-]+$/.test(host)) return 'has an invalid host name';
  return undefined;
}

export function targetProblem(type: ChannelType, target: string): string | undefined {
  switch (type) {
    case 'email':
      return EMAIL.test(target) ? undefined : 'must be an email address';
    case 'sms':
      return E164.test(target) ? undefined : 'must be a phone number in E.164 form, such as +21612345678';
    case 'slack':
    case 'webhook':
      return webhookUrlProblem(target);
  }
}

const channelSchema = z
  .object({
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'lower-case letters, digits, _ and - (at most 63), unique within the rule')
      .meta({ description: 'Stable within the rule; `<rule id>:<name>` identifies the channel' }),
    type: z.enum(CHANNEL_TYPES),
    target: z.string().min(1).max(2048).meta({ description: 'email address, E.164 phone number, or https URL (Slack, webhook)' }),
  })
  .strict()
  .meta({ id: 'AlertChannel' });

export interface AlertChannel {
  name: string;
  type: ChannelType;
  target: string;
}

export const alertConfigurationEntity: EntityDefinition = defineEntity({
  type: 'alert_configuration',
  collection: 'alert-configurations',
  schemaName: 'AlertConfiguration',
  label: 'alert configuration',
  fields: z.object({
    name: text(100),
    enabled: z.boolean().default(true),
    severities: z.array(z.enum(SEVERITIES)).min(1).max(SEVERITIES.length),
    datacenter_ids: z
      .array(uuid())
      .min(1)
      .max(100)
      .nullable()
      .optional()
      .meta({ description: 'Only alerts of these datacenters; null: every datacenter (and alerts without one)' }),
    sources: z.array(text(100)).min(1).max(50).nullable().optional().meta({ description: 'Only alerts from these sources; null: any' }),
    tags: z
      .array(text(100))
      .min(1)
      .max(50)
      .nullable()
      .optional()
      .meta({ description: 'Only alerts whose related object carries one of these tag names (or a label `tag`); null: any' }),
    channels: z.array(channelSchema).min(1).max(10),
    repeat_interval_minutes: z.number().int().min(1).max(10_080).default(DEFAULT_REPEAT_INTERVAL_MINUTES),
    send_resolved: z.boolean().default(true),
  }),
  unique: [{ field: 'name', value: (record) => String(record.name).toLowerCase() }],
  validate: (record) => {
    const details: ErrorDetail[] = [];
    const channels = Array.isArray(record.channels) ? (record.channels as AlertChannel[]) : [];
    const seen = new Set<string>();
    channels.forEach((channel, index) => {
      if (seen.has(channel.name))
        details.push({ path: `channels.${index}.name`, message: 'is already used by another channel of this rule' });
      seen.add(channel.name);
      const problem = targetProblem(channel.type, channel.target);
      if (problem) details.push({ path: `channels.${index}.target`, message: problem });
    });
    const severities = Array.isArray(record.severities) ? record.severities : [];
    if (new Set(severities).size !== severities.length) details.push({ path: 'severities', message: 'must not repeat a severity' });
    return details;
  },
});

/** The id every notification, message attribute and filter policy uses for one channel of one rule. */
export function channelId(ruleId: string, channelName: string): string {
  return `${ruleId}:${channelName}`;
}

export function channelsOf(rule: EntityRecord): AlertChannel[] {
  return Array.isArray(rule.channels) ? (rule.channels as AlertChannel[]) : [];
}

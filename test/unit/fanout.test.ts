/**
 * The fan-out against a mocked SNS (DynamoDB Local for rules and bookkeeping): the exact Publish calls per
 * transition, the email/SMS subscriptions kept in step with the rules, and the subscriber Lambda posting a
 * duplicate SNS delivery once.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PublishCommand, SetSubscriptionAttributesCommand, SNSClient, SubscribeCommand, UnsubscribeCommand } from '@aws-sdk/client-sns';
import type { SNSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { SYSTEM_SYNC } from '#shared/auth/principal';
import { repo } from '#shared/db/repository';
import { handler as subscriber } from '#functions/alert-subscriber';
import { alertConfigurationEntity } from '#shared/domains/monitoring/alert-configuration';
import { acknowledgeAlert, raiseAlert, resolveAlert } from '#shared/domains/monitoring/alerts';
import type { Notification } from '#shared/domains/monitoring/notification';
import { describe as describeNotification, headline } from '#shared/domains/monitoring/notification';
import { allAlertRules } from '#shared/domains/monitoring/fanout';
import { reconcileSubscriptions } from '#shared/domains/monitoring/subscriptions';
import type { EntityRecord } from '#shared/model/entity';

const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:alerts';
const DLQS = { email: 'arn:aws:sqs:eu-west-1:123456789012:email-dlq', sms: 'arn:aws:sqs:eu-west-1:123456789012:sms-dlq' };
const context = { principal: SYSTEM_SYNC, requestId: 'unit-fanout' };
const sns = mockClient(SNSClient);

let counter = 0;
const uniqueName = (prefix: string) => `${prefix}-${++counter}-${Date.now().toString(36)}`;

async function createRule(fields: Record<string, unknown>): Promise<EntityRecord> {
  return repo().create(
    alertConfigurationEntity,
    { enabled: true, repeat_interval_minutes: 240, send_resolved: true, ...fields, name: uniqueName('rule') },
    { ...context, bookkeeping: true },
  );
}

beforeEach(() => {
  sns.reset();
  sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
  process.env.ALERTS_TOPIC_ARN = TOPIC;
  process.env.ALERT_DLQ_ARNS = JSON.stringify(DLQS);
});
afterAll(() => {
  delete process.env.ALERTS_TOPIC_ARN;
  delete process.env.ALERT_DLQ_ARNS;
});

function publishedNotifications(): Notification[] {
  return sns.commandCalls(PublishCommand).map((call) => JSON.parse(JSON.parse(String(call.args[0].input.Message)).default));
}

describe('Publish calls', () => {
  test('one Publish per matching channel with the exact topic, attributes, subject and bodies', async () => {
    const source = uniqueName('src');
    const datacenterId = '01900000-0000-7000-8000-0000000000d1';
    const rule = await createRule({
      severities: ['warning', 'critical'],
      sources: [source],
      channels: [
        { name: 'ops-mail', type: 'email', target: 'ops@example.com' },
        { name: 'hook', type: 'webhook', target: 'https://hooks.example.com/alerts' },
      ],
    });
    const { alert } = await raiseAlert({ source, severity: 'warning', message: 'memory at 91%', datacenter_id: datacenterId }, context);

    expect(sns).toHaveReceivedCommandTimes(PublishCommand, 2);
    const [email, webhook] = sns.commandCalls(PublishCommand).map((call) => call.args[0].input);
    const expected = (channel: { name: string; type: string; target: string }): Notification => ({
      delivery_id: expect.stringMatching(/^[0-9a-f]{40}$/),
      fingerprint: String(alert.fingerprint),
      transition: 'firing',
      alert_id: alert.id,
      alert_version: 1,
      severity: 'warning',
      status: 'firing',
      message: 'memory at 91%',
      source,
      datacenter_id: datacenterId,
      related_entity: null,
      related_id: null,
      occurred_at: String(alert.updated_at),
      channel: { id: `${rule.id}:${channel.name}`, rule_id: rule.id, ...channel } as Notification['channel'],
    });
    const attributes = (type: string, name: string) => ({
      severity: { DataType: 'String', StringValue: 'warning' },
      datacenter_id: { DataType: 'String', StringValue: datacenterId },
      source: { DataType: 'String', StringValue: source },
      channel: { DataType: 'String', StringValue: type },
      channel_id: { DataType: 'String', StringValue: `${rule.id}:${name}` },
    });

    expect(email).toEqual({
      TopicArn: TOPIC,
      MessageStructure: 'json',
      Message: expect.any(String),
      Subject: '[WARNING] FIRING: memory at 91%',
      MessageAttributes: attributes('email', 'ops-mail'),
    });
    const emailBody = JSON.parse(String(email?.Message));
    const emailNotification = JSON.parse(emailBody.default) as Notification;
    expect(emailNotification).toEqual(expected({ name: 'ops-mail', type: 'email', target: 'ops@example.com' }));
    expect(emailBody.email).toBe(describeNotification(emailNotification));
    expect(emailBody.sms).toBe(headline(emailNotification));

    expect(webhook).toEqual({
      TopicArn: TOPIC,
      MessageStructure: 'json',
      Message: expect.any(String),
      MessageAttributes: attributes('webhook', 'hook'),
    });
    const webhookNotification = JSON.parse(JSON.parse(String(webhook?.Message)).default) as Notification;
    expect(webhookNotification).toEqual(expected({ name: 'hook', type: 'webhook', target: 'https://hooks.example.com/alerts' }));
    expect(webhookNotification.delivery_id).not.toBe(emailNotification.delivery_id);
  });

  test('transitions: repeat within the interval, acknowledge and suppress send nothing; escalation and resolution do', async () => {
    const source = uniqueName('src');
    await createRule({
      severities: ['warning', 'critical'],
      sources: [source],
      channels: [{ name: 'hook', type: 'webhook', target: 'https://h.example.com/a' }],
    });
    const body = { source, severity: 'warning' as const, message: 'disk at 85%' };

    const { alert } = await raiseAlert(body, context);
    expect(publishedNotifications().map((n) => [n.transition, n.alert_version, n.datacenter_id])).toEqual([['firing', 1, null]]);
    expect(sns.commandCalls(PublishCommand)[0]?.args[0].input.MessageAttributes?.datacenter_id?.StringValue).toBe('none');

    sns.resetHistory();
    await raiseAlert(body, context);
    expect(sns).toHaveReceivedCommandTimes(PublishCommand, 0);

    await raiseAlert({ ...body, severity: 'critical' }, context);
    expect(publishedNotifications().map((n) => [n.transition, n.severity, n.alert_version])).toEqual([['escalated', 'critical', 3]]);

    sns.resetHistory();
    await acknowledgeAlert(alert.id, SYSTEM_SYNC, context);
    expect(sns).toHaveReceivedCommandTimes(PublishCommand, 0);

    await resolveAlert(alert.id, 'system:sync', context);
    expect(publishedNotifications().map((n) => [n.transition, n.status])).toEqual([['resolved', 'resolved']]);

    sns.resetHistory();
    await resolveAlert(alert.id, 'system:sync', context);
    await raiseAlert({ ...body, message: 'in maintenance' }, context, 'suppressed');
    expect(sns).toHaveReceivedCommandTimes(PublishCommand, 0);
  });

  test('a repeat is sent once the interval has passed; send_resolved false and non-matching rules send nothing', async () => {
    const source = uniqueName('src');
    const rule = await createRule({
      severities: ['critical'],
      sources: [source],
      send_resolved: false,
      repeat_interval_minutes: 1,
      channels: [{ name: 'sms', type: 'sms', target: '+21612345678' }],
    });
    await createRule({
      severities: ['info'],
      sources: [source],
      channels: [{ name: 'x', type: 'webhook', target: 'https://x.example.com/' }],
    });
    await createRule({
      severities: ['critical'],
      sources: [source],
      datacenter_ids: ['01900000-0000-7000-8000-0000000000d9'],
      channels: [{ name: 'y', type: 'webhook', target: 'https://y.example.com/' }],
    });
    await createRule({
      severities: ['critical'],
      sources: [source],
      enabled: false,
      channels: [{ name: 'z', type: 'webhook', target: 'https://z.example.com/' }],
    });

    const body = { source, severity: 'critical' as const, message: 'host down' };
    const { alert } = await raiseAlert(body, context);
    expect(publishedNotifications().map((n) => n.channel.id)).toEqual([`${rule.id}:sms`]);

    sns.resetHistory();
    const realNow = Date.now;
    Date.now = () => realNow() + 61_000;
    try {
      await raiseAlert(body, context);
      await raiseAlert(body, context);
    } finally {
      Date.now = realNow;
    }
    expect(publishedNotifications().map((n) => n.transition)).toEqual(['repeat']);

    sns.resetHistory();
    await resolveAlert(alert.id, 'system:sync', context);
    expect(sns).toHaveReceivedCommandTimes(PublishCommand, 0);
  });

  test('a failing Publish is logged and does not fail the alert write', async () => {
    const source = uniqueName('src');
    await createRule({
      severities: ['info'],
      sources: [source],
      channels: [{ name: 'hook', type: 'webhook', target: 'https://h.example.com/' }],
    });
    sns.on(PublishCommand).rejects(new Error('throttled'));
    const { outcome } = await raiseAlert({ source, severity: 'info', message: 'x' }, context);
    expect(outcome).toBe('created');
    expect(sns).toHaveReceivedCommandTimes(PublishCommand, 1);
  });
});

describe('subscriptions', () => {
  // Start from no rules: the Publish tests above leave theirs behind.
  beforeAll(async () => {
    for (const rule of await allAlertRules()) await repo().delete(alertConfigurationEntity, rule.id, { ...context, bookkeeping: true });
  });

  test('email and SMS endpoints are subscribed once each with filter policy and DLQ; changes update, removals unsubscribe', async () => {
    let next = 0;
    sns.on(SubscribeCommand).callsFake(() => ({ SubscriptionArn: `${TOPIC}:sub-${++next}` }));
    sns.on(SetSubscriptionAttributesCommand).resolves({});
    sns.on(UnsubscribeCommand).resolves({});

    const first = await createRule({
      severities: ['critical'],
      channels: [
        { name: 'mail', type: 'email', target: 'oncall@example.com' },
        { name: 'phone', type: 'sms', target: '+21612345678' },
        { name: 'hook', type: 'webhook', target: 'https://h.example.com/' },
      ],
    });
    await reconcileSubscriptions();
    expect(sns).toHaveReceivedCommandTimes(SubscribeCommand, 2);
    expect(sns.commandCalls(SubscribeCommand).map((call) => call.args[0].input)).toEqual([
      {
        TopicArn: TOPIC,
        Protocol: 'email',
        Endpoint: 'oncall@example.com',
        ReturnSubscriptionArn: true,
        Attributes: {
          FilterPolicy: JSON.stringify({ channel_id: [`${first.id}:mail`] }),
          FilterPolicyScope: 'MessageAttributes',
          RedrivePolicy: JSON.stringify({ deadLetterTargetArn: DLQS.email }),
        },
      },
      {
        TopicArn: TOPIC,
        Protocol: 'sms',
        Endpoint: '+21612345678',
        ReturnSubscriptionArn: true,
        Attributes: {
          FilterPolicy: JSON.stringify({ channel_id: [`${first.id}:phone`] }),
          FilterPolicyScope: 'MessageAttributes',
          RedrivePolicy: JSON.stringify({ deadLetterTargetArn: DLQS.sms }),
        },
      },
    ]);

    // A second rule mailing the same address (any case) shares the subscription: its filter policy grows.
    sns.resetHistory();
    const second = await createRule({
      severities: ['warning'],
      channels: [{ name: 'mail2', type: 'email', target: 'OnCall@example.com' }],
    });
    await reconcileSubscriptions();
    expect(sns).toHaveReceivedCommandTimes(SubscribeCommand, 0);
    expect(sns.commandCalls(SetSubscriptionAttributesCommand).map((call) => call.args[0].input)).toEqual([
      {
        SubscriptionArn: `${TOPIC}:sub-1`,
        AttributeName: 'FilterPolicy',
        AttributeValue: JSON.stringify({ channel_id: [`${first.id}:mail`, `${second.id}:mail2`].sort() }),
      },
    ]);

    // Nothing changed: no SNS calls at all.
    sns.resetHistory();
    await reconcileSubscriptions();
    expect(sns.calls()).toHaveLength(0);

    // Deleting both rules removes both subscriptions.
    await repo().delete(alertConfigurationEntity, first.id, { ...context, bookkeeping: true });
    await repo().delete(alertConfigurationEntity, second.id, { ...context, bookkeeping: true });
    await reconcileSubscriptions();
    expect(sns.commandCalls(UnsubscribeCommand).map((call) => call.args[0].input)).toEqual([
      { SubscriptionArn: `${TOPIC}:sub-1` },
      { SubscriptionArn: `${TOPIC}:sub-2` },
    ]);
  });

  test('without ALERTS_TOPIC_ARN (local runtime) reconcile calls nothing', async () => {
    delete process.env.ALERTS_TOPIC_ARN;
    await createRule({ severities: ['info'], channels: [{ name: 'mail', type: 'email', target: 'someone@example.com' }] });
    await reconcileSubscriptions();
    expect(sns.calls()).toHaveLength(0);
  });
});

describe('subscriber Lambda', () => {
  let server: Server;
  const received: { headers: Record<string, string | string[] | undefined>; body: string }[] = [];
  let url = '';
  beforeAll(async () => {
    server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => (body += chunk));
      request.on('end', () => {
        received.push({ headers: request.headers, body });
        response.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  test('a duplicate SNS delivery posts once; Slack gets {text}', async () => {
    const notification: Notification = {
      delivery_id: `d-${Date.now()}`,
      fingerprint: 'fp-1',
      transition: 'firing',
      alert_id: '01900000-0000-7000-8000-0000000000a1',
      alert_version: 1,
      severity: 'critical',
      status: 'firing',
      message: 'host down',
      source: 'monitoring',
      datacenter_id: null,
      related_entity: null,
      related_id: null,
      occurred_at: '2026-01-01T00:00:00.000Z',
      channel: { id: 'r:slack', rule_id: 'r', name: 'slack', type: 'slack', target: url },
    };
    const event = { Records: [{ Sns: { MessageId: 'm-1', Message: JSON.stringify(notification) } }] } as unknown as SNSEvent;
    await subscriber(event);
    await subscriber(event);
    expect(received).toHaveLength(1);
    expect(received[0]?.headers['x-dc-inventory-fingerprint']).toBe('fp-1');
    expect(JSON.parse(received[0]?.body ?? '{}')).toEqual({ text: describeNotification(notification) });
  });
});

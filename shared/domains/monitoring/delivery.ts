/**
 * Posting a notification to a Slack or webhook URL: once per delivery id (a duplicate SNS delivery or a replayed
 * local call finds the claim and posts nothing), three attempts with backoff, and an error on final failure so the
 * caller can let SNS retry (and then dead-letter) the message.
 */
import { webhookUrlProblem } from '#shared/domains/monitoring/alert-configuration';
import { claimDelivery, completeDelivery, releaseDelivery } from '#shared/domains/monitoring/delivery-store';
import { describe, type Notification } from '#shared/domains/monitoring/notification';
import { log } from '#shared/log';

export const FINGERPRINT_HEADER = 'x-dc-inventory-fingerprint';
export const DELIVERY_ID_HEADER = 'x-dc-inventory-delivery-id';

export const DELIVERY_ATTEMPTS = 3;
const ATTEMPT_TIMEOUT_MS = 5_000;
/** Backoff before attempt n+1: 200 ms, 400 ms (plus jitter) — short, because SNS retries the whole delivery too. */
const BACKOFF_MS = 200;

export class DeliveryError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'DeliveryError';
  }
}

/** The request body for the channel: Slack wants `{text}`, a webhook gets the notification itself. */
export function requestFor(notification: Notification): { body: string; headers: Record<string, string> } {
  const headers = {
    'content-type': 'application/json',
    [FINGERPRINT_HEADER]: notification.fingerprint,
    [DELIVERY_ID_HEADER]: notification.delivery_id,
  };
  if (notification.channel.type === 'slack') return { body: JSON.stringify({ text: describe(notification) }), headers };
  return { body: JSON.stringify(notification), headers };
}

async function postOnce(url: string, request: { body: string; headers: Record<string, string> }): Promise<void> {
  let response: Response;
  try {
    // No redirects: a 3xx to a metadata address would walk around the URL policy.
    response = await fetch(url, {
      method: 'POST',
      body: request.body,
      headers: request.headers,
      redirect: 'manual',
      signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS),
    });
  } catch (error) {
    throw new DeliveryError(`request failed: ${error instanceof Error ? error.message : String(error)}`, true);
  }
  await response.body?.cancel().catch(() => undefined);
  if (response.ok) return;
  // 408/429 and 5xx may pass; any other answer will not change on a retry.
  const retryable = response.status === 408 || response.status === 429 || response.status >= 500;
  throw new DeliveryError(`answered HTTP ${response.status}`, retryable);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export type DeliveryOutcome = 'delivered' | 'duplicate';

/** Posts the notification to its Slack or webhook channel once; throws `DeliveryError` when every attempt failed. */
export async function deliverToChannel(notification: Notification): Promise<DeliveryOutcome> {
  const { channel } = notification;
  if (channel.type !== 'slack' && channel.type !== 'webhook') throw new DeliveryError(`channel type ${channel.type} is not posted`, false);
  // Checked again here: the rule was valid when written, but the policy (or LOCAL_RUNTIME) may differ now.
  const problem = webhookUrlProblem(channel.target);
  if (problem) throw new DeliveryError(`target URL ${problem}`, false);
  if (!(await claimDelivery(notification.delivery_id))) return 'duplicate';
  const request = requestFor(notification);
  let lastError: DeliveryError | undefined;
  for (let attempt = 1; attempt <= DELIVERY_ATTEMPTS; attempt++) {
    try {
      await postOnce(channel.target, request);
      await completeDelivery(notification.delivery_id);
      return 'delivered';
    } catch (error) {
      lastError = error instanceof DeliveryError ? error : new DeliveryError(String(error), true);
      log.warn('alert delivery attempt failed', {
        delivery_id: notification.delivery_id,
        channel_id: channel.id,
        attempt,
        reason: lastError.message,
      });
      if (!lastError.retryable || attempt === DELIVERY_ATTEMPTS) break;
      await sleep(BACKOFF_MS * 2 ** (attempt - 1) + Math.random() * 50);
    }
  }
  await releaseDelivery(notification.delivery_id);
  throw lastError ?? new DeliveryError('not delivered', true);
}

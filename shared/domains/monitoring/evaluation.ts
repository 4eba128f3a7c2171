/**
 * Threshold evaluation. `nextState` is the pure state machine (for-duration, hysteresis); `evaluateDatacenter`
 * applies every threshold to the objects of one datacenter after a sync and on the monitoring schedule, stores the
 * per-(threshold, object) state and raises, escalates or resolves one alert per state change, never per run.
 *
 * State items (bookkeeping, not audited): pk `METRIC_STATE#<datacenter_id>#<threshold_id>`, sk `<entity_id>`, so one
 * Query per threshold reads a datacenter's states, and a global threshold's states stay split by datacenter.
 */
import { DeleteCommand, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { SYSTEM_MONITORING } from '#shared/auth/principal';
import type { WriteContext } from '#shared/db/audit';
import { documentClient } from '#shared/db/client';
import { repo, stripStorage, tagIdsOf } from '#shared/db/repository';
import { tableName } from '#shared/config';
import { datacenterEntity } from '#shared/domains/inventory/datacenter';
import { serverEntity } from '#shared/domains/inventory/server';
import { storageBayEntity } from '#shared/domains/inventory/storage-bay';
import { tagEntity } from '#shared/domains/inventory/tag';
import { vmEntity } from '#shared/domains/inventory/vm';
import { alertEntity } from '#shared/domains/monitoring/alert';
import { raiseAlert, resolveAlert } from '#shared/domains/monitoring/alerts';
import { DEFAULT_EVALUATION_INTERVAL_MINUTES, monitoringConfigurationEntity } from '#shared/domains/monitoring/configuration';
import {
  entityName,
  METRIC_NAMES,
  type MetricDefinition,
  type MetricEntityType,
  type MetricFacts,
  metricOf,
} from '#shared/domains/monitoring/metrics';
import { alertChanged } from '#shared/domains/monitoring/notifications';
import { maintenanceView, type MaintenanceView } from '#shared/domains/monitoring/suppression';
import {
  COMPARISON_SYMBOLS,
  type Comparison,
  monitoringThresholdEntity,
  type ThresholdSpec,
  thresholdSpec,
} from '#shared/domains/monitoring/threshold';
import { vsphereConnectionEntity } from '#shared/domains/sync/connection';
import { describeError, log } from '#shared/log';
import type { EntityDefinition, EntityRecord } from '#shared/model/entity';
import { clock, uuidv7 } from '#shared/model/ids';

// ------------------------------------------------------------------ the pure state machine

export const LEVELS = ['ok', 'warning', 'critical'] as const;
export type Level = (typeof LEVELS)[number];

export interface MetricState {
  level: Level;
  /** When the current level was entered (null: never left ok). */
  since: string | null;
  /** A level the value has been pointing at, not yet held for the `for` duration. */
  pending_level: Level | null;
  pending_since: string | null;
}

export interface StateStep {
  state: MetricState;
  transition: { from: Level; to: Level } | null;
}

export const INITIAL_STATE: MetricState = { level: 'ok', since: null, pending_level: null, pending_since: null };

const rank = (level: Level) => LEVELS.indexOf(level);

export function breaches(value: number, limit: number, comparison: Comparison): boolean {
  switch (comparison) {
    case 'gt':
      return value > limit;
    case 'gte':
      return value >= limit;
    case 'lt':
      return value < limit;
    case 'lte':
      return value <= limit;
  }
}

/** Still within `hysteresis` of the limit on the breaching side: a level already reached is kept. */
function holds(value: number, limit: number, comparison: Comparison, hysteresis: number): boolean {
  const upward = comparison === 'gt' || comparison === 'gte';
  return breaches(value, upward ? limit - hysteresis : limit + hysteresis, comparison);
}

/** The level the value points at, given the current level: breaching raises, only clearing past the hysteresis lowers. */
export function targetLevel(current: Level, value: number, threshold: ThresholdSpec): Level {
  for (const level of ['critical', 'warning'] as const) {
    const limit = threshold[level];
    if (limit === null) continue;
    if (breaches(value, limit, threshold.comparison)) return level;
    if (rank(level) <= rank(current) && holds(value, limit, threshold.comparison, threshold.hysteresis)) return level;
  }
  return 'ok';
}

/**
 * One evaluation step. The level moves only once the value has pointed away from it (in the same direction) for
 * `for_minutes`; a value that comes back first cancels the pending change, so flapping stays quiet. No data (null)
 * keeps everything as it was, pending changes included.
 */
export function nextState(previous: MetricState | undefined, value: number | null, threshold: ThresholdSpec, now: Date): StateStep {
  const state = previous ?? INITIAL_STATE;
  if (value === null || !Number.isFinite(value)) return { state, transition: null };
  const target = targetLevel(state.level, value, threshold);
  if (target === state.level) return { state: { ...state, pending_level: null, pending_since: null }, transition: null };
  const direction = Math.sign(rank(target) - rank(state.level));
  const pendingContinues =
    state.pending_level !== null && state.pending_since !== null && Math.sign(rank(state.pending_level) - rank(state.level)) === direction;
  // Escalating further while pending (ok → warning → critical) keeps the start of the breach: it has lasted since then.
  const pendingSince = pendingContinues ? (state.pending_since as string) : now.toISOString();
  if (now.getTime() - Date.parse(pendingSince) >= threshold.for_minutes * 60_000) {
    return {
      state: { level: target, since: now.toISOString(), pending_level: null, pending_since: null },
      transition: { from: state.level, to: target },
    };
  }
  return { state: { ...state, pending_level: target, pending_since: pendingSince }, transition: null };
}

// ------------------------------------------------------------------ stored states

interface StoredState extends MetricState {
  /** The alert of the current episode was opened or updated as `suppressed` (maintenance): un-suppress when it ends. */
  alert_suppressed: boolean;
}

const statePartition = (datacenterId: string, thresholdId: string) => `METRIC_STATE#${datacenterId}#${thresholdId}`;

function asLevel(value: unknown): Level | null {
  return (LEVELS as readonly unknown[]).includes(value) ? (value as Level) : null;
}

function parseState(item: Record<string, unknown>): StoredState {
  return {
    level: asLevel(item.level) ?? 'ok',
    since: typeof item.since === 'string' ? item.since : null,
    pending_level: asLevel(item.pending_level),
    pending_since: typeof item.pending_since === 'string' ? item.pending_since : null,
    alert_suppressed: item.alert_suppressed === true,
  };
}

async function readStates(datacenterId: string, thresholdId: string): Promise<Map<string, StoredState>> {
  const states = new Map<string, StoredState>();
  let start: Record<string, unknown> | undefined;
  do {
    const page = await documentClient().send(
      new QueryCommand({
        TableName: tableName(),
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': statePartition(datacenterId, thresholdId) },
        ConsistentRead: true,
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    for (const item of page.Items ?? []) states.set(String(item.sk), parseState(item));
    start = page.LastEvaluatedKey;
  } while (start);
  return states;
}

async function writeState(datacenterId: string, thresholdId: string, entityId: string, state: StoredState): Promise<void> {
  await documentClient().send(
    new PutCommand({
      TableName: tableName(),
      Item: {
        pk: statePartition(datacenterId, thresholdId),
        sk: entityId,
        type: 'metric_state',
        datacenter_id: datacenterId,
        threshold_id: thresholdId,
        entity_id: entityId,
        level: state.level,
        since: state.since ?? undefined,
        pending_level: state.pending_level ?? undefined,
        pending_since: state.pending_since ?? undefined,
        alert_suppressed: state.alert_suppressed,
      },
    }),
  );
}

async function deleteState(datacenterId: string, thresholdId: string, entityId: string): Promise<void> {
  await documentClient().send(
    new DeleteCommand({ TableName: tableName(), Key: { pk: statePartition(datacenterId, thresholdId), sk: entityId } }),
  );
}

const sameState = (a: StoredState, b: StoredState) =>
  a.level === b.level &&
  a.since === b.since &&
  a.pending_level === b.pending_level &&
  a.pending_since === b.pending_since &&
  a.alert_suppressed === b.alert_suppressed;

/** When the scheduled evaluation last ran for a datacenter (bookkeeping item). */
const lastRunKey = (datacenterId: string) => ({ pk: `MONITORING_RUN#${datacenterId}`, sk: '#LAST' });

// ------------------------------------------------------------------ evaluation of a datacenter

export const MONITORING_RESOLVER = 'system:monitoring';

export interface EvaluationOptions {
  now?: Date;
  /** What started it, for request ids and logs: `sync:<id>`, `schedule`, `test`. */
  reason?: string;
}

export interface EvaluationSummary {
  datacenter_id: string;
  skipped: boolean;
  thresholds: number;
  evaluated: number;
  raised: number;
  resolved: number;
  unsuppressed: number;
  /** Host and VM thresholds were not applied: the datacenter's last sync failed. */
  inhibited: boolean;
}

const ENTITY_OF: Record<Exclude<MetricEntityType, 'datacenter'>, EntityDefinition> = {
  server: serverEntity,
  vm: vmEntity,
  storage_bay: storageBayEntity,
};

/** Host and VM data is stale while the datacenter cannot be synced: their alerts would be noise. */
const INHIBITED_BY_SYNC_FAILURE: ReadonlySet<MetricEntityType> = new Set(['server', 'vm']);

function formatNumber(value: number): string {
  return String(Math.round(value * 10) / 10);
}

function alertMessage(metric: MetricDefinition, name: string, value: number, threshold: ThresholdSpec, level: 'warning' | 'critical') {
  const limit = threshold[level] as number;
  const unit = metric.unit ? ` ${metric.unit}` : '';
  return `${name}: ${metric.label} ${formatNumber(value)}${unit} ${COMPARISON_SYMBOLS[threshold.comparison]} ${formatNumber(limit)} (${level})`;
}

export const thresholdFingerprint = (thresholdId: string, entityId: string) => `threshold:${thresholdId}:${entityId}`;

/** Per-datacenter serialisation in this process: the post-sync and the scheduled evaluation must not interleave. */
const chains = new Map<string, Promise<unknown>>();

export function evaluateDatacenter(datacenterId: string, options: EvaluationOptions = {}): Promise<EvaluationSummary> {
  const previous = chains.get(datacenterId) ?? Promise.resolve();
  const run = previous.catch(() => undefined).then(() => evaluateNow(datacenterId, options));
  chains.set(datacenterId, run);
  void run
    .finally(() => {
      if (chains.get(datacenterId) === run) chains.delete(datacenterId);
    })
    .catch(() => undefined);
  return run;
}

class Evaluation {
  readonly summary: EvaluationSummary;
  readonly context: WriteContext;
  private readonly entities = new Map<MetricEntityType, EntityRecord[]>();
  private readonly tagIds = new Map<string, string | undefined>();

  constructor(
    readonly datacenter: EntityRecord,
    readonly facts: MetricFacts,
    readonly maintenance: MaintenanceView,
    readonly now: Date,
    reason: string,
  ) {
    this.summary = {
      datacenter_id: datacenter.id,
      skipped: false,
      thresholds: 0,
      evaluated: 0,
      raised: 0,
      resolved: 0,
      unsuppressed: 0,
      inhibited: false,
    };
    // Alerts are people's data: audited (not bookkeeping), under the monitoring system actor.
    this.context = { principal: SYSTEM_MONITORING, requestId: `monitoring:${datacenter.id}:${reason}:${uuidv7()}`, bookkeeping: false };
  }

  async entitiesOf(type: MetricEntityType): Promise<EntityRecord[]> {
    if (type === 'datacenter') return [this.datacenter];
    let records = this.entities.get(type);
    if (!records) {
      const items = await repo().itemsOfDatacenter(ENTITY_OF[type], this.datacenter.id);
      // Objects vCenter no longer reports carry stale metrics: they are not monitored (their alerts resolve).
      records = items.map(stripStorage).filter((record) => typeof record.missing_since !== 'string');
      this.entities.set(type, records);
    }
    return records;
  }

  async tagId(name: string): Promise<string | undefined> {
    const key = name.toLowerCase();
    if (!this.tagIds.has(key)) this.tagIds.set(key, await repo().findByUnique(tagEntity, 'name', key));
    return this.tagIds.get(key);
  }

  async applyThreshold(threshold: EntityRecord, metric: MetricDefinition): Promise<void> {
    const spec = thresholdSpec(threshold);
    const states = await readStates(this.datacenter.id, threshold.id);
    let candidates = await this.entitiesOf(metric.entity_type);
    if (typeof threshold.tag === 'string') {
      const tagId = await this.tagId(threshold.tag);
      candidates = tagId === undefined ? [] : candidates.filter((record) => tagIdsOf(record).includes(tagId));
    }
    const seen = new Set<string>();
    for (const record of candidates) {
      seen.add(record.id);
      this.summary.evaluated += 1;
      try {
        await this.applyToEntity(threshold, spec, metric, record, states.get(record.id));
      } catch (error) {
        // One object's failure (a contended alert) must not stop the others; the next run retries it.
        log.warn('monitoring evaluation of an object failed', {
          threshold_id: threshold.id,
          entity_id: record.id,
          ...describeError(error),
        });
      }
    }
    // States of objects no longer in scope (deleted, missing, untagged): close their episode.
    for (const entityId of states.keys()) if (!seen.has(entityId)) await this.retire(threshold.id, entityId);
  }

  private async applyToEntity(
    threshold: EntityRecord,
    spec: ThresholdSpec,
    metric: MetricDefinition,
    record: EntityRecord,
    stored: StoredState | undefined,
  ): Promise<void> {
    const value = metric.read(record, this.facts);
    const step = nextState(stored, value, spec, this.now);
    const next: StoredState = { ...step.state, alert_suppressed: stored?.alert_suppressed ?? false };
    const entity = { type: metric.entity_type, record };
    const fingerprint = thresholdFingerprint(threshold.id, record.id);
    if (step.transition) {
      const to = step.transition.to;
      if (to === 'ok') {
        await this.resolve(fingerprint);
        next.alert_suppressed = false;
      } else {
        const suppressed = this.maintenance.covers(entity);
        if (suppressed) await this.suppressOpen(fingerprint);
        const { alert } = await raiseAlert(
          {
            source: 'monitoring',
            severity: to,
            message: alertMessage(metric, entityName(metric.entity_type, record), value as number, spec, to),
            related_entity: metric.entity_type,
            related_id: record.id,
            datacenter_id: this.datacenter.id,
            fingerprint,
            labels: { metric: metric.name, threshold_id: threshold.id },
          },
          this.context,
          suppressed ? 'suppressed' : 'firing',
        );
        this.summary.raised += 1;
        next.alert_suppressed = alert.status === 'suppressed';
      }
    } else if (next.level !== 'ok' && next.alert_suppressed && !this.maintenance.covers(entity)) {
      await this.unsuppress(fingerprint);
      next.alert_suppressed = false;
    }
    if (!stored || !sameState(stored, next)) await writeState(this.datacenter.id, threshold.id, record.id, next);
  }

  /** Entering a window mid-episode: a firing alert turns suppressed, so the change raised now notifies nobody. */
  private async suppressOpen(fingerprint: string): Promise<void> {
    const openId = await repo().findByUnique(alertEntity, 'fingerprint', fingerprint);
    if (!openId) return;
    await repo().update(alertEntity, openId, (current) => (current.status === 'firing' ? { status: 'suppressed' } : {}), this.context);
  }

  /** The window ended and the alert still fires: flip it to firing and notify now. */
  private async unsuppress(fingerprint: string): Promise<void> {
    const openId = await repo().findByUnique(alertEntity, 'fingerprint', fingerprint);
    if (!openId) return;
    const { record, changed } = await repo().update(
      alertEntity,
      openId,
      (current) => (current.status === 'suppressed' ? { status: 'firing', last_seen_at: this.now.toISOString() } : {}),
      this.context,
    );
    if (changed) {
      this.summary.unsuppressed += 1;
      await alertChanged(record, 'unsuppressed');
    }
  }

  private async resolve(fingerprint: string): Promise<void> {
    const openId = await repo().findByUnique(alertEntity, 'fingerprint', fingerprint);
    if (!openId) return; // resolved by hand meanwhile
    const { changed } = await resolveAlert(openId, MONITORING_RESOLVER, this.context);
    if (changed) this.summary.resolved += 1;
  }

  /** Ends an episode that can no longer be evaluated (object gone, threshold disabled or out of scope). */
  async retire(thresholdId: string, entityId: string): Promise<void> {
    await this.resolve(thresholdFingerprint(thresholdId, entityId));
    await deleteState(this.datacenter.id, thresholdId, entityId);
  }

  async retireAll(thresholdId: string): Promise<void> {
    for (const entityId of (await readStates(this.datacenter.id, thresholdId)).keys()) await this.retire(thresholdId, entityId);
  }
}

async function allThresholds(): Promise<EntityRecord[]> {
  return repo().listAll(monitoringThresholdEntity);
}

async function configurationOf(datacenterId: string): Promise<EntityRecord | undefined> {
  const id = await repo().findByUnique(monitoringConfigurationEntity, 'datacenter_id', datacenterId);
  return id ? repo().get(monitoringConfigurationEntity, id) : undefined;
}

async function evaluateNow(datacenterId: string, options: EvaluationOptions): Promise<EvaluationSummary> {
  const now = options.now ?? clock.now();
  const empty: EvaluationSummary = {
    datacenter_id: datacenterId,
    skipped: true,
    thresholds: 0,
    evaluated: 0,
    raised: 0,
    resolved: 0,
    unsuppressed: 0,
    inhibited: false,
  };
  const datacenter = await repo().get(datacenterEntity, datacenterId);
  if (!datacenter) return empty;
  const configuration = await configurationOf(datacenterId);
  if (configuration?.enabled === false) return empty; // paused: states are kept as they are
  const watched = new Set<string>(Array.isArray(configuration?.metrics) ? (configuration.metrics as string[]) : METRIC_NAMES);
  const inDatacenter = (await allThresholds()).filter(
    (threshold) => threshold.datacenter_id === undefined || threshold.datacenter_id === datacenterId,
  );

  const connectionId = await repo().findByUnique(vsphereConnectionEntity, 'datacenter_id', datacenterId);
  const connection = connectionId ? await repo().get(vsphereConnectionEntity, connectionId) : undefined;
  const facts: MetricFacts = { last_sync_status: typeof connection?.last_sync_status === 'string' ? connection.last_sync_status : null };
  const inhibited = facts.last_sync_status === 'failed';

  const evaluation = new Evaluation(datacenter, facts, await maintenanceView(datacenterId, now), now, options.reason ?? 'run');
  evaluation.summary.skipped = false;
  evaluation.summary.inhibited = inhibited;
  for (const threshold of inDatacenter) {
    const metric = metricOf(String(threshold.metric));
    if (!metric) continue;
    if (threshold.enabled === false || !watched.has(metric.name)) {
      // Switched off: its open alerts would otherwise stay open forever.
      await evaluation.retireAll(threshold.id);
      continue;
    }
    // Inhibition keeps host and VM states exactly as they are: nothing raised, nothing resolved on stale data.
    if (inhibited && INHIBITED_BY_SYNC_FAILURE.has(metric.entity_type)) continue;
    evaluation.summary.thresholds += 1;
    await evaluation.applyThreshold(threshold, metric);
  }
  await documentClient().send(
    new PutCommand({
      TableName: tableName(),
      Item: { ...lastRunKey(datacenterId), type: 'monitoring_run', evaluated_at: now.toISOString() },
    }),
  );
  log.debug('monitoring evaluation', { ...evaluation.summary });
  return evaluation.summary;
}

// ------------------------------------------------------------------ triggers

/** In-flight post-sync work per datacenter, so tests (and shutdown) can wait for monitoring to settle. */
const inFlight = new Map<string, Set<Promise<unknown>>>();

export function trackMonitoring(datacenterId: string, work: Promise<unknown>): void {
  const set = inFlight.get(datacenterId) ?? new Set<Promise<unknown>>();
  inFlight.set(datacenterId, set);
  set.add(work);
  void work
    .finally(() => {
      set.delete(work);
      if (set.size === 0 && inFlight.get(datacenterId) === set) inFlight.delete(datacenterId);
    })
    .catch(() => undefined);
}

/** Resolves once no post-sync evaluation of the datacenter is running in this process. */
export async function monitoringSettled(datacenterId: string): Promise<void> {
  for (;;) {
    const pending = [...(inFlight.get(datacenterId) ?? []), ...(chains.has(datacenterId) ? [chains.get(datacenterId)] : [])];
    if (pending.length === 0) return;
    await Promise.allSettled(pending);
  }
}

/** After every sync, whatever its outcome (a failed one feeds `sync_failed`). Never throws: the sync is done. */
export async function evaluateAfterSync(datacenterId: string, syncId: string): Promise<void> {
  try {
    await evaluateDatacenter(datacenterId, { reason: `sync:${syncId}` });
  } catch (error) {
    log.error('monitoring evaluation after sync failed', { datacenter_id: datacenterId, sync_id: syncId, ...describeError(error) });
  }
}

/**
 * The scheduled evaluation (same one-minute timer as the sync dispatcher): every datacenter whose evaluation
 * interval has passed, so `for` durations elapse between syncs.
 */
export async function evaluateDue(now = clock.now()): Promise<{ evaluated: string[] }> {
  const evaluated: string[] = [];
  if ((await allThresholds()).length === 0) return { evaluated };
  const configurations = new Map<string, EntityRecord>();
  for (const configuration of await repo().listAll(monitoringConfigurationEntity)) {
    configurations.set(String(configuration.datacenter_id), configuration);
  }
  for (const datacenter of await repo().listAll(datacenterEntity)) {
    const configuration = configurations.get(datacenter.id);
    if (configuration?.enabled === false) continue;
    const interval = Number(configuration?.evaluation_interval_minutes ?? DEFAULT_EVALUATION_INTERVAL_MINUTES) * 60_000;
    const last = await documentClient().send(new GetCommand({ TableName: tableName(), Key: lastRunKey(datacenter.id) }));
    const lastAt = typeof last.Item?.evaluated_at === 'string' ? Date.parse(last.Item.evaluated_at) : 0;
    if (now.getTime() - lastAt < interval) continue;
    try {
      await evaluateDatacenter(datacenter.id, { now, reason: 'schedule' });
      evaluated.push(datacenter.id);
    } catch (error) {
      log.warn('scheduled monitoring evaluation failed', { datacenter_id: datacenter.id, ...describeError(error) });
    }
  }
  return { evaluated };
}

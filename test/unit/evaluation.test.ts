/** The monitoring state machine: for-duration, hysteresis, escalation, de-escalation, flapping, missing data. */
import { INITIAL_STATE, type MetricState, nextState, targetLevel } from '#shared/domains/monitoring/evaluation';
import type { ThresholdSpec } from '#shared/domains/monitoring/threshold';

const T0 = Date.parse('2025-01-01T00:00:00Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000);
const spec = (overrides: Partial<ThresholdSpec> = {}): ThresholdSpec => ({
  comparison: 'gte',
  warning: 80,
  critical: 90,
  for_minutes: 0,
  hysteresis: 0,
  ...overrides,
});

/** Feeds (minute, value) pairs; returns the levels after each step and the transitions. */
function run(threshold: ThresholdSpec, samples: [number, number | null][], start: MetricState = INITIAL_STATE) {
  let state = start;
  const levels: string[] = [];
  const transitions: string[] = [];
  for (const [minute, value] of samples) {
    const step = nextState(state, value, threshold, at(minute));
    state = step.state;
    levels.push(state.level);
    if (step.transition) transitions.push(`${minute}:${step.transition.from}->${step.transition.to}`);
  }
  return { state, levels, transitions };
}

describe('nextState without for-duration', () => {
  test('breaching moves at once, once', () => {
    const result = run(spec(), [
      [0, 50],
      [1, 85],
      [2, 86],
      [3, 95],
      [4, 96],
    ]);
    expect(result.levels).toEqual(['ok', 'warning', 'warning', 'critical', 'critical']);
    expect(result.transitions).toEqual(['1:ok->warning', '3:warning->critical']);
  });

  test('de-escalation critical -> warning, then recovery', () => {
    const result = run(spec(), [
      [0, 95],
      [1, 85],
      [2, 10],
    ]);
    expect(result.transitions).toEqual(['0:ok->critical', '1:critical->warning', '2:warning->ok']);
  });

  test('a first sample straight into critical skips warning', () => {
    expect(run(spec(), [[0, 99]]).transitions).toEqual(['0:ok->critical']);
  });

  test('comparisons: gt excludes the limit, lt/lte point downward', () => {
    expect(run(spec({ comparison: 'gt' }), [[0, 80]]).levels).toEqual(['ok']);
    expect(run(spec({ comparison: 'gte' }), [[0, 80]]).levels).toEqual(['warning']);
    const low = spec({ comparison: 'lt', warning: 20, critical: 10 });
    expect(
      run(low, [
        [0, 15],
        [1, 5],
        [2, 10],
        [3, 25],
      ]).levels,
    ).toEqual(['warning', 'critical', 'warning', 'ok']);
    expect(run(spec({ comparison: 'lte', warning: 20, critical: 10 }), [[0, 10]]).levels).toEqual(['critical']);
  });

  test('only a warning or only a critical limit', () => {
    expect(run(spec({ critical: null }), [[0, 99]]).levels).toEqual(['warning']);
    expect(
      run(spec({ warning: null }), [
        [0, 85],
        [1, 91],
      ]).levels,
    ).toEqual(['ok', 'critical']);
  });
});

describe('for-duration', () => {
  const slow = spec({ for_minutes: 5 });

  test('the level changes only after the breach held for the duration', () => {
    const result = run(slow, [
      [0, 85],
      [2, 85],
      [4, 85],
      [5, 85],
      [6, 85],
    ]);
    expect(result.levels).toEqual(['ok', 'ok', 'ok', 'warning', 'warning']);
    expect(result.transitions).toEqual(['5:ok->warning']);
  });

  test('pending records the level and since when', () => {
    const step = nextState(INITIAL_STATE, 85, slow, at(0));
    expect(step.state).toEqual({ level: 'ok', since: null, pending_level: 'warning', pending_since: at(0).toISOString() });
    expect(step.transition).toBeNull();
  });

  test('flapping around the limit stays quiet', () => {
    const samples: [number, number][] = Array.from({ length: 30 }, (_, minute) => [minute, minute % 4 < 2 ? 85 : 70]);
    const result = run(slow, samples);
    expect(result.transitions).toEqual([]);
    expect(result.state.level).toBe('ok');
  });

  test('escalating while pending keeps the start of the breach', () => {
    const result = run(slow, [
      [0, 85],
      [3, 95],
      [5, 95],
    ]);
    expect(result.transitions).toEqual(['5:ok->critical']);
  });

  test('recovery also waits for the duration, and a relapse cancels it', () => {
    const result = run(slow, [
      [0, 95],
      [5, 95],
      [6, 10],
      [8, 95],
      [9, 10],
      [14, 10],
    ]);
    expect(result.transitions).toEqual(['5:ok->critical', '14:critical->ok']);
  });

  test('de-escalation critical -> warning waits too', () => {
    const critical: MetricState = { level: 'critical', since: at(0).toISOString(), pending_level: null, pending_since: null };
    const result = run(
      slow,
      [
        [1, 85],
        [3, 85],
        [6, 85],
      ],
      critical,
    );
    expect(result.transitions).toEqual(['6:critical->warning']);
  });
});

describe('hysteresis', () => {
  const sticky = spec({ hysteresis: 5 });

  test('a warning clears only past limit - hysteresis', () => {
    const result = run(sticky, [
      [0, 81],
      [1, 79],
      [2, 76],
      [3, 75],
      [4, 74.9],
    ]);
    expect(result.levels).toEqual(['warning', 'warning', 'warning', 'warning', 'ok']);
    expect(result.transitions).toEqual(['0:ok->warning', '4:warning->ok']);
  });

  test('hysteresis does not make a new breach easier', () => {
    expect(run(sticky, [[0, 79]]).levels).toEqual(['ok']);
  });

  test('critical drops to warning only past its own hysteresis', () => {
    const result = run(sticky, [
      [0, 91],
      [1, 86],
      [2, 84],
      [3, 74],
    ]);
    expect(result.levels).toEqual(['critical', 'critical', 'warning', 'ok']);
  });

  test('downward comparisons clear above limit + hysteresis', () => {
    const low = spec({ comparison: 'lt', warning: 20, critical: 10, hysteresis: 5 });
    expect(
      run(low, [
        [0, 19],
        [1, 24],
        [2, 25],
      ]).levels,
    ).toEqual(['warning', 'warning', 'ok']);
  });

  test('targetLevel holds only levels already reached', () => {
    expect(targetLevel('warning', 88, sticky)).toBe('warning');
    expect(targetLevel('critical', 88, sticky)).toBe('critical');
    expect(targetLevel('ok', 88, sticky)).toBe('warning');
  });
});

describe('no data', () => {
  test('null keeps the state, pending included', () => {
    const slow = spec({ for_minutes: 5 });
    const pending = nextState(INITIAL_STATE, 85, slow, at(0)).state;
    const step = nextState(pending, null, slow, at(3));
    expect(step).toEqual({ state: pending, transition: null });
    // Data comes back still breaching: the original start counts.
    expect(nextState(step.state, 85, slow, at(5)).transition).toEqual({ from: 'ok', to: 'warning' });
  });

  test('null on a firing state does not resolve it', () => {
    const firing = run(spec(), [[0, 95]]).state;
    expect(
      run(
        spec(),
        [
          [1, null],
          [2, null],
        ],
        firing,
      ).state.level,
    ).toBe('critical');
  });
});

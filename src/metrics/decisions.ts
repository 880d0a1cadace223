import { OUTCOME_COUNT, type Outcome } from '../outcome';

/** Where a buy request got its answer (the `stage` label of seckill_decisions_total). */
export enum Stage {
  /** Refused before any sale state was read: bad request, method, size, token, unknown event, blocklist. */
  Http = 0,
  /** The in-process checks: window, already won, local stock, per-user throttle. */
  Prefilter = 1,
  /** The queue: full (5), deadline passed (6), Redis lost while waiting (10). */
  Queue = 2,
  /** The buy script's answer, and the answer followers share with their leader. */
  Redis = 3,
}

export const STAGE_NAMES: readonly string[] = Object.freeze(['http', 'prefilter', 'queue', 'redis']);

/**
 * Buy answers by stage and outcome, counted in a flat array: the hot path
 * pays one increment, and /metrics reads the array when scraped. One per
 * server (the admission, the consumer and the HTTP routes share it).
 */
export class Decisions {
  readonly counts = new Float64Array(STAGE_NAMES.length * OUTCOME_COUNT);

  count(stage: Stage, code: Outcome): void {
    this.counts[stage * OUTCOME_COUNT + code]!++;
  }
}

import type { Pool } from 'mysql2/promise';
import type { RedisClient } from '../redis/scripts';
import { mysqlCheck, redisCheck, redisCheckIntervalMs } from './dependency-checks';
import { DependencyProbe, type DependencyReport } from './dependency-probe';
import type { RedisHealth } from './redis-health';

/**
 * What the probes say about Redis and MySQL, from background checks
 * (dependency-probe.ts): /healthz and /readyz read it and never wait on I/O,
 * so a hung dependency cannot hang a probe (Docker's HEALTHCHECK gives
 * /healthz 3 s).
 */
export class Dependencies {
  private readonly probe: DependencyProbe;
  /**
   * Readiness needs a successful PING within this long: two command
   * timeouts and a check interval, so one slow answer does not flap it
   * while a Redis that stopped answering turns it 503 within about 2.5
   * command timeouts.
   */
  private readonly redisAnswerMs: number;
  private readonly connected = (): void => this.probe.answered('redis');
  private closed = false;

  constructor(
    private readonly redis: RedisClient,
    private readonly pool: Pool | undefined,
    redisTimeoutMs: number,
  ) {
    this.probe = new DependencyProbe([redisCheck(redis, redisTimeoutMs), ...(pool === undefined ? [] : [mysqlCheck(pool)])]);
    this.redisAnswerMs = 2 * redisTimeoutMs + redisCheckIntervalMs(redisTimeoutMs);
  }

  /** The first checks (each bounded by its timeout), then checking in the background. */
  start(): Promise<void> {
    // A connection that became ready has just answered: readiness need not wait for the next PING.
    this.redis.on('ready', this.connected);
    return this.probe.start();
  }

  /** Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.redis.off('ready', this.connected);
    this.probe.close();
  }

  /**
   * The liveness body's dependency part: `redis` (and `mysql` when there is
   * one) true while the last check found it answering, a Cluster's
   * masters, and under `dependencies` each one's state (ok, failing,
   * stalled), the age of its last success and the last error.
   */
  health(): Record<string, unknown> {
    const reports = this.probe.reports();
    const redis = this.redisReport(reports.redis);
    const cluster = this.probe.details('redis') as RedisHealth | undefined;
    const mysql = reports.mysql;
    return {
      redis: redis.state === 'ok' && (cluster?.redis ?? true),
      ...(cluster?.redisCluster === undefined ? {} : { redisCluster: cluster.redisCluster }),
      ...(mysql === undefined ? {} : { mysql: mysql.state === 'ok' }),
      dependencies: { ...reports, redis },
    };
  }

  /** The front's readiness conditions, with `redis` true only while Redis is connected and also answers. */
  ready(checks: Record<string, boolean>): Record<string, boolean> {
    return { ...checks, redis: (checks.redis ?? true) && this.probe.answeredWithin('redis', this.redisAnswerMs) };
  }

  /** A dropped connection is known without asking: say so at once rather than at the next check. */
  private redisReport(checked: DependencyReport | undefined): DependencyReport {
    const report = checked ?? { state: 'stalled', lastOkMs: null };
    if (this.redis.status === 'ready') return report;
    return { state: 'failing', lastOkMs: report.lastOkMs, error: `not connected (${this.redis.status})` };
  }
}

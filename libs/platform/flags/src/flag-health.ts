import { newId, TOPICS, TopicMap } from '@countersign/contracts';
import type { Logger } from '@countersign/logging';
import type { FlagHealthListener, FlagSourceHealth } from './flag-reader';

type HealthTopic = typeof TOPICS.flagSourceHealthChanged;

/** Where a composition root sends flag-source health: its logger, and the bus's `publish` (taken as a function, so this lib needs no bus). */
export interface FlagHealthReport {
  service: string;
  logger: Logger;
  publish(topic: HealthTopic, event: TopicMap[HealthTopic]): Promise<unknown>;
}

/** The audit event of a health change; its subject keys all of one service's flag health events in order. */
export function flagHealthEvent(service: string, health: FlagSourceHealth, now = new Date()): TopicMap[HealthTopic] {
  const id = newId();
  return {
    id,
    type: TOPICS.flagSourceHealthChanged,
    version: 1,
    source: service,
    time: now.toISOString(),
    subject: `flag-source:${service}`,
    correlationId: id,
    causationId: null,
    actor: { id: service, kind: 'service', authMethod: 'service' },
    data: { status: health.status, service, flagSource: health.flagSource.slice(0, 1000), reason: health.reason.slice(0, 2000), failClosed: health.failClosed },
  };
}

/** A health listener that logs a failure at error (a recovery at warn) and audits both on the bus. */
export function reportFlagHealth(report: FlagHealthReport): FlagHealthListener {
  return (health) => {
    const fields = { alert: 'flag-source', flagSource: health.flagSource, failClosed: health.failClosed };
    if (health.status === 'failed') report.logger.error(fields, `flag source failed${health.failClosed ? ', every flag reads unknown' : ''}: ${health.reason}`);
    else report.logger.warn(fields, `flag source recovered: ${health.reason}`);
    report.publish(TOPICS.flagSourceHealthChanged, flagHealthEvent(report.service, health)).catch((e) => report.logger.error({ err: e }, 'could not audit a flag source health change'));
  };
}

import { EventData, newId, TOPICS } from '@countersign/contracts';
import type { Logger } from '@countersign/logging';
import type { FlagHealthListener, FlagSourceHealth } from './flag-reader';

type HealthTopic = typeof TOPICS.flagSourceHealthChanged;

/**
 * Where a composition root sends flag-source health: its logger, and the bus's `emit` (taken as a function,
 * so this lib needs no bus): `emit: (topic, data, options) => bus.emit(topic, data, options)`.
 */
export interface FlagHealthReport {
  service: string;
  logger: Logger;
  emit(topic: HealthTopic, data: EventData<HealthTopic>, options: { subject: string; correlationId?: string; id?: string }): Promise<unknown>;
}

/** The data of a health change's audit event. */
export function flagHealthData(service: string, health: FlagSourceHealth): EventData<HealthTopic> {
  return { status: health.status, service, flagSource: health.flagSource.slice(0, 1000), reason: health.reason.slice(0, 2000), failClosed: health.failClosed };
}

/** A health listener that logs a failure at error (a recovery at warn) and audits both on the bus. */
export function reportFlagHealth(report: FlagHealthReport): FlagHealthListener {
  return (health) => {
    const fields = { alert: 'flag-source', flagSource: health.flagSource, failClosed: health.failClosed };
    if (health.status === 'failed') report.logger.error(fields, `flag source failed${health.failClosed ? ', every flag reads unknown' : ''}: ${health.reason}`);
    else report.logger.warn(fields, `flag source recovered: ${health.reason}`);
    // The subject keys all of one service's flag health events in order; each change is a chain of its own.
    const id = newId();
    report
      .emit(TOPICS.flagSourceHealthChanged, flagHealthData(report.service, health), { subject: `flag-source:${report.service}`, correlationId: id, id })
      .catch((e) => report.logger.error({ err: e }, 'could not audit a flag source health change'));
  };
}

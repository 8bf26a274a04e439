import { FlagReader, flagsReadiness } from '@countersign/flags';
import type { ConsumerStates, ReadinessCheck } from '@countersign/nest';

/**
 * The embedded mode's flags readiness check (`flags`: ok, or why the flag file is not loaded), as the distributed
 * executor's `flagsReadiness`, but holding back no consumer. In the platform module one list of checks serves both
 * `/readyz` and the consumers, which subscribe only once every check passes (libs/platform/nest/src/bus-consumer.ts):
 * there a flag outage at start would stop the audit writer and the review queue too, in one process. So the check
 * passes until the services have started (their consumers evaluate it while the app boots) and while any consumer still
 * waits to subscribe for another reason (/readyz then says so in `consumers`); after that it reports the flags. The
 * policy engine and the executor need no gate: with the flags unknown they decide and execute nothing (fail closed).
 */
export function embeddedFlagsReadiness(flags: FlagReader): EmbeddedReadiness {
  return holdingNoConsumer(flagsReadiness(flags));
}

/** A readiness check of the embedded mode, and the hook that says its consumers have started. */
export interface EmbeddedReadiness {
  check: ReadinessCheck;
  consumersStarted(states: ConsumerStates): void;
}

/**
 * `inner` as a readiness check that holds back no consumer (see `embeddedFlagsReadiness`): the audit log's check too,
 * whose writer must keep consuming to find the log writable again.
 */
export function holdingNoConsumer(inner: ReadinessCheck): EmbeddedReadiness {
  let states: ConsumerStates | undefined;
  return {
    check: { name: inner.name, check: async () => (!states || states.waiting().length > 0 ? true : inner.check()) },
    consumersStarted: (s) => {
      states = s;
    },
  };
}

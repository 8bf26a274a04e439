import type { HandlerMap } from '@countersign/bus';
import { TOPICS, TopicMap } from '@countersign/contracts';
import type { Logger } from '@countersign/logging';
import { POLICY_ENGINE_SEAL, verifyEventSeal, VerifyKeys } from '@countersign/approval';
import { BusConsumer } from './bus-consumer';

/**
 * Where the entries go: `FlagControls` of @countersign/flags (named by its shape: that lib's tests use this one's).
 */
export interface ControlEntries {
  markCaughtUp(): void;
  applyEvent(e: TopicMap[typeof TOPICS.autonomyChanged]): void;
}

/**
 * Follows the autonomy control topic (`control.autonomy.changed.v1`) from its beginning at every start, in a group of
 * this instance's own, into `controls`: the approved state of every kill switch and autonomy level (ADR 0014). Only
 * entries a policy engine sealed with its decision key are taken (docs/adr/0040, addendum): the topic's write credential
 * switches nothing off and nothing on. The policy engine and the executor read their flags through `withFlagControls`;
 * the review queue tells reviewers of a kill switch that is off. Subclasses name the group and give the three parts.
 */
export abstract class FlagControlFollower extends BusConsumer {
  protected override readonly replay = true;
  protected abstract readonly controls: ControlEntries;
  /** The policy engines' decision verify keys. */
  protected abstract readonly controlKeys: VerifyKeys;
  protected abstract readonly logger: Logger;

  /** Read to its end: the stricter entries it holds are in force, and flags read as known again. */
  protected override caughtUp(): void {
    this.controls.markCaughtUp();
  }

  protected handlers(): HandlerMap {
    return {
      [TOPICS.autonomyChanged]: async (e) => {
        const sealed = verifyEventSeal(e, this.controlKeys, POLICY_ENGINE_SEAL);
        if (!sealed.ok) return void this.logger.error({ alert: 'control-fact-refused', topic: TOPICS.autonomyChanged, eventId: e.id }, sealed.reason);
        this.controls.applyEvent(e);
      },
    };
  }
}

import { BeforeApplicationShutdown, Inject, OnApplicationBootstrap } from '@nestjs/common';
import type { EventBus, HandlerMap, Subscription } from '@countersign/bus';
import type { Logger } from '@countersign/logging';
import { ConsumerStates, EVENT_BUS, evaluateReadiness, LOGGER, Readiness, READINESS, ReadinessCheck } from './platform.module';

/** Backoff between readiness polls of a consumer that waits: from a quarter of a second up to five. */
const FIRST_POLL_MS = 250;
const MAX_POLL_MS = 5_000;
/** A consumer that still waits says so again this often (and whenever the reason changes). */
const REMIND_MS = 30_000;

/**
 * A consumer group of a service. It subscribes only once the service is ready — every readiness check
 * passes (the bus, its stores, its flags loaded) — so an instance that cannot decide well takes no work
 * that another, ready instance would do right. Ready at boot: it subscribes before the app serves (the
 * service is ready only once its group has joined). Not ready: the app serves (/readyz says why) and the
 * consumer polls the checks with backoff, logging what it waits for, and subscribes once they pass. It
 * leaves the group on shutdown, before the HTTP server closes (Nest's `beforeApplicationShutdown`): the handlers in
 * flight finish while the process still serves, so a handler that calls a route of its own process (the embedded
 * mode's stand-in target) still reaches it, and what they publish is in the log before anything else stops.
 * Subclasses name the group and map topics to handlers.
 */
export abstract class BusConsumer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  @Inject(EVENT_BUS) protected readonly bus!: EventBus;
  @Inject(READINESS) private readonly consumerReadiness?: ReadinessCheck[];
  @Inject(LOGGER) private readonly consumerLogger?: Logger;
  @Inject(ConsumerStates) private readonly consumerStates?: ConsumerStates;
  private subscription?: Subscription;
  private stopping = false;
  private waiting?: Promise<void>;

  /** `<service>.<purpose>`. */
  protected abstract readonly group: string;
  protected abstract handlers(): HandlerMap;
  /** Events handled at once (one key always in order); the bus's default when unset. */
  protected readonly concurrency?: number;
  /** Read the topics' whole history at every start, in a group of this instance's own (see `SubscribeOptions.replay`). */
  protected readonly replay?: boolean;
  /** With `replay`: called once the topics were read up to the end they had at the start (`SubscribeOptions.onCaughtUp`). */
  protected caughtUp?(): void;

  async onApplicationBootstrap() {
    const now = await evaluateReadiness(this.consumerReadiness ?? []);
    if (now.ready) return this.subscribe();
    this.consumerStates?.waitingFor(this.group);
    this.waiting = this.subscribeWhenReady(now);
  }

  async beforeApplicationShutdown() {
    this.stopping = true;
    await this.waiting;
    await this.subscription?.close();
  }

  private async subscribe(): Promise<void> {
    this.subscription = await this.bus.subscribe({
      group: this.group,
      handlers: this.handlers(),
      concurrency: this.concurrency,
      replay: this.replay,
      ...(this.replay && this.caughtUp ? { onCaughtUp: () => this.caughtUp!() } : {}),
    });
    this.consumerStates?.subscribed(this.group);
  }

  private async subscribeWhenReady(first: Readiness): Promise<void> {
    let readiness = first;
    let delay = FIRST_POLL_MS;
    let said = '';
    let saidAt = 0;
    for (;;) {
      if (this.stopping) return;
      if (readiness.ready) {
        try {
          await this.subscribe();
          this.consumerLogger?.info({ group: this.group }, 'ready: subscribed');
          return;
        } catch (e) {
          readiness = { ready: false, checks: { subscribe: String((e as Error)?.message ?? e) }, signals: {} };
        }
      }
      const why = Object.entries(readiness.checks)
        .filter(([, r]) => r !== 'ok')
        .map(([n, r]) => `${n}: ${r}`)
        .join('; ');
      if (why !== said || Date.now() - saidAt > REMIND_MS) {
        this.consumerLogger?.warn({ group: this.group, checks: readiness.checks }, `not ready, not consuming: ${why}`);
        said = why;
        saidAt = Date.now();
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, MAX_POLL_MS);
      if (this.stopping) return;
      readiness = await evaluateReadiness(this.consumerReadiness ?? []);
    }
  }
}

import { Inject, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { EventBus, HandlerMap, Subscription } from '@countersign/bus';
import { EVENT_BUS } from './platform.module';

/**
 * A consumer group of a service: subscribes when the app boots (the service is ready only once its group
 * has joined) and leaves the group on shutdown. Subclasses name the group and map topics to handlers.
 */
export abstract class BusConsumer implements OnApplicationBootstrap, OnApplicationShutdown {
  @Inject(EVENT_BUS) protected readonly bus!: EventBus;
  private subscription?: Subscription;

  /** `<service>.<purpose>`. */
  protected abstract readonly group: string;
  protected abstract handlers(): HandlerMap;
  /** Events handled at once (one key always in order); the bus's default when unset. */
  protected readonly concurrency?: number;

  async onApplicationBootstrap() {
    this.subscription = await this.bus.subscribe({ group: this.group, handlers: this.handlers(), concurrency: this.concurrency });
  }

  async onApplicationShutdown() {
    await this.subscription?.close();
  }
}

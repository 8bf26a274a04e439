import { Injectable } from '@nestjs/common';

export interface SinkReceipt {
  receivedAt: string;
  idempotencyKey: string;
  actionId: string;
  body: unknown;
}

/** What the stand-in target system received, one effect per Idempotency-Key; held in memory for the life of the process. */
@Injectable()
export class SinkStore {
  readonly effects: SinkReceipt[] = [];
  deliveries = 0;
}

import { BadRequestException, ForbiddenException, Inject, Injectable } from '@nestjs/common';
import type { HandlerMap } from '@countersign/bus';
import { newId, TOPICS } from '@countersign/contracts';
import { BusConsumer, Principal, SERVICE_NAME } from '@countersign/nest';
import { acceptContractChange } from '@countersign/policy';
import { INSTANCE_ID } from '../tokens';
import { ContractStore } from './contract.store';

/**
 * Change control: a new contract version loads only with an approved change request (approver ≠
 * requester), and only if it validates. The change travels as `policy.contract.changed.v1` — recorded in
 * the audit trail — and every policy-engine instance applies it (each reads the topic in a group of its own).
 */
@Injectable()
export class ContractChangeService extends BusConsumer {
  protected readonly group: string;

  constructor(
    private readonly store: ContractStore,
    @Inject(SERVICE_NAME) private readonly service: string,
    @Inject(INSTANCE_ID) instanceId: string,
  ) {
    super();
    this.group = `policy-engine.contract.${instanceId}`;
  }

  protected handlers(): HandlerMap {
    return {
      [TOPICS.contractChanged]: async (e) => {
        // A change applies to the version it was approved against: replaying history after a restart (or
        // after a newer contract was deployed) never rolls the running contract back.
        if (e.data.fromVersion !== this.store.current().version) return;
        this.store.apply(e.data.contract, `change ${e.data.changeRequestId}`);
      },
    };
  }

  async propose(text: string, changeRequestId: string, approvedBy: string, requester: Principal) {
    const current = this.store.current();
    const verdict = acceptContractChange(current, text, `change ${changeRequestId}`, { changeRequestId, requestedBy: requester.id, approvedBy });
    if (!verdict.ok) {
      if (/approved/.test(verdict.reason)) throw new ForbiddenException(verdict.reason);
      throw new BadRequestException(verdict.reason);
    }
    await this.bus.publish(TOPICS.contractChanged, {
      id: newId(),
      type: TOPICS.contractChanged,
      version: 1,
      source: this.service,
      time: new Date().toISOString(),
      subject: 'operational-contract',
      correlationId: changeRequestId,
      causationId: null,
      actor: { id: requester.id, kind: requester.kind, roles: requester.roles, authMethod: 'bearer-token' },
      data: { fromVersion: current.version, toVersion: verdict.contract.version, hash: verdict.contract.hash, changeRequestId, requestedBy: requester.id, approvedBy, contract: text },
    });
    return { version: verdict.contract.version, hash: verdict.contract.hash };
  }
}

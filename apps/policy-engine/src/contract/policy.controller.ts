import { Body, Controller, Get, HttpCode, Put, Req } from '@nestjs/common';
import { z } from 'zod';
import { AuthenticatedRequest, parseBody, Roles } from '@countersign/nest';
import { ContractChangeService } from './contract-change.service';
import { ContractStore } from './contract.store';

const ChangeBody = z.object({
  contract: z.string().min(1).max(1_000_000),
  changeRequestId: z.string().min(1).max(200),
  approvedBy: z.string().min(1).max(200),
});

@Controller('v1/policy')
export class PolicyController {
  constructor(
    private readonly contracts: ContractStore,
    private readonly changes: ContractChangeService,
  ) {}

  /** The running contract's version and content hash, and the action types it knows. */
  @Get()
  @Roles('agent', 'reviewer', 'auditor', 'admin')
  current() {
    const c = this.contracts.current();
    return { version: c.version, hash: c.hash, actionTypes: Object.keys(c.actions).sort() };
  }

  /** Loads a new version, with its approved change request; 202 once the change is published to every instance. */
  @Put()
  @HttpCode(202)
  @Roles('admin')
  async change(@Body() body: unknown, @Req() req: AuthenticatedRequest) {
    const { contract, changeRequestId, approvedBy } = parseBody(ChangeBody, body);
    return { status: 'accepted', ...(await this.changes.propose(contract, changeRequestId, approvedBy, req.principal!)) };
  }
}

import { Controller, Get } from '@nestjs/common';
import { ApiRoute, Roles } from '@countersign/nest';
import { RunningContract } from '@countersign/policy';

/**
 * The running contract. A new version loads only through a change request approved by a second admin
 * (`/v1/policy/change-requests`); there is no call that loads one directly.
 */
@Controller('v1/policy')
export class PolicyController {
  constructor(private readonly contracts: RunningContract) {}

  /** The running contract's version and content hash, and the action types it knows. */
  @ApiRoute({
    summary: 'The running contract: version, content hash, action types',
    ok: {
      description: 'The running contract',
      schema: {
        type: 'object',
        required: ['version', 'hash', 'actionTypes'],
        properties: { version: { type: 'string' }, hash: { type: 'string' }, actionTypes: { type: 'array', items: { type: 'string' } } },
      },
    },
    unavailable: false,
  })
  @Get()
  @Roles('agent', 'reviewer', 'auditor', 'admin')
  current() {
    const c = this.contracts.current();
    return { version: c.version, hash: c.hash, actionTypes: Object.keys(c.actions).sort() };
  }
}

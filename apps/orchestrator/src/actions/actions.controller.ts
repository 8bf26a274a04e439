import { Controller, Get, Inject, Param } from '@nestjs/common';
import { NotFoundAnswer, Roles } from '@countersign/nest';
import { ACTION_VIEWS } from '../tokens';
import { summarise } from './action-status';
import { ActionViewRepository } from './action-view.repository';

@Controller('v1/actions')
export class ActionsController {
  constructor(@Inject(ACTION_VIEWS) private readonly views: ActionViewRepository) {}

  /** `{status, lane, timeline[]}` of one action. */
  @Get(':id')
  @Roles('agent', 'reviewer', 'auditor', 'admin')
  async get(@Param('id') id: string) {
    const entries = await this.views.timeline(id);
    // A normal answer, not a refusal: a client polls its action before the view has caught up.
    if (!entries.length) throw new NotFoundAnswer(`no action ${id}`);
    return { actionId: id, ...summarise(entries) };
  }
}

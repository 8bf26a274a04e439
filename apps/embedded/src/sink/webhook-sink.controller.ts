import { BadRequestException, Body, Controller, Get, Headers, HttpCode, Post, Res } from '@nestjs/common';
import { ApiRoute, Roles } from '@countersign/nest';
import { SinkStore } from './sink-store';
import { SINK_ROLE } from './sink-token';

/**
 * The embedded mode's stand-in target system: the webhook connector sends executed actions here, so a
 * user can see each effect arrive once (GET /_sink/effects). A real deployment points WEBHOOK_URL at
 * the systems that act. Both routes need the sink token (`tokens/sink`): effects carry raw parameters, and
 * a posted effect would look executed. A refused call is audited like every other (401/403).
 */
@Controller('_sink')
@Roles(SINK_ROLE)
export class WebhookSinkController {
  constructor(private readonly store: SinkStore) {}

  @ApiRoute({
    summary: 'The stand-in target system: receives an effect (embedded mode)',
    body: { type: 'object', description: 'The effect the webhook connector delivers' },
    ok: {
      description: 'Received (one effect per Idempotency-Key; a delivery under a key seen before is counted, not added)',
      schema: { type: 'object', properties: { ok: { type: 'boolean' } } },
      headers: { 'X-Request-Id': "the target's id of the effect" },
    },
    unavailable: false,
  })
  @Post('effects')
  @HttpCode(200)
  async receive(
    @Body() body: unknown,
    @Headers('idempotency-key') key: string | undefined,
    @Headers('x-countersign-action-id') actionId: string | undefined,
    @Res({ passthrough: true }) res: { setHeader(k: string, v: string): void },
  ) {
    // A target applies an action once per key: without one it could not, so it takes none (the connector always sends one).
    if (!key || key.length > 200) throw new BadRequestException('Idempotency-Key: required, at most 200 characters');
    const seq = await this.store.receive(key, actionId ?? '', body);
    res.setHeader('X-Request-Id', `sink-${seq}`);
    return { ok: true };
  }

  @ApiRoute({
    summary: 'The effects the stand-in target received',
    ok: {
      description: 'The effects',
      schema: {
        type: 'object',
        required: ['effects'],
        properties: { effects: { type: 'array', items: { type: 'object' }, description: 'each with its deliveries (1 when the action was applied once)' } },
      },
    },
    unavailable: false,
  })
  @Get('effects')
  list() {
    return { effects: this.store.effects };
  }
}

import { BadRequestException, Body, Controller, ForbiddenException, HttpCode, Param, Post, Req, UnauthorizedException } from '@nestjs/common';
import { z } from 'zod';
import { parseStrictJson, reasonString } from '@countersign/contracts';
import { ApiRoute, IdentifierParam, parseBody } from '@countersign/nest';
import { ReviseBody } from '../reviewer-api/reviews.controller';
import { MAX_REVISED_PARAMETERS_BYTES, RevisionService } from '../revisions/revision.service';
import { InboxFeed } from './inbox-feed';
import { HttpRequest, Sessions } from './sessions';

const RevisionForm = z.object({
  /** The parameters as the reviewer edited them in the card's editor: JSON text, parsed strictly here. */
  parameters: z.string().max(MAX_REVISED_PARAMETERS_BYTES, `parameters: at most ${MAX_REVISED_PARAMETERS_BYTES} bytes`),
  reason: reasonString(3, 2000),
  shownDigest: z.string().regex(/^[0-9a-f]{64}$/),
});

/**
 * Approve with changes from the inbox (docs/adr/0017): the card's editor sends the edited parameters as JSON text, with
 * the session's CSRF token, and the same `RevisionService` as the JSON API decides. Apart from `InboxController` so the
 * feature stays in its own file.
 */
@Controller('reviews')
export class InboxRevisionsController {
  constructor(
    private readonly sessions: Sessions,
    private readonly revisions: RevisionService,
    private readonly feed: InboxFeed,
  ) {}

  @ApiRoute({
    summary: 'Approve with changes from the inbox (CSRF-checked): the edited parameters as JSON text',
    session: true,
    body: RevisionForm,
    ok: { description: 'The item is revised; `newActionId` is evaluated again', schema: { type: 'object' } },
    errors: {
      400: "a body that does not validate, parameters that are not JSON, no change, or parameters the action type's schema refuses",
      401: 'not signed in, or the session ended',
      403: 'no reviewer role, a missing or wrong CSRF token; separation of duties (the proposer), a token of no person, a role the item needs, or a step-up the item needs',
      404: 'no review item for this action, or one of a tenant the caller is not bound to',
      409: 'already decided or expired, decided meanwhile, or `shownDigest` does not match the item as it is now; no sealed copy',
    },
  })
  @Post(':actionId/revise')
  @HttpCode(200)
  async revise(@Param('actionId', new IdentifierParam('actionId')) actionId: string, @Req() req: HttpRequest, @Body() body: unknown) {
    const session = await this.sessions.current(req);
    if (!session) throw new UnauthorizedException('not signed in (or the session ended): sign in at /auth/sign-in');
    // The rejection filter audits a refusal under the request's principal.
    req.principal = session.principal;
    if (!session.principal.roles.includes('reviewer')) throw new ForbiddenException('the inbox is for reviewers: your account has no reviewer role');
    this.sessions.checkCsrf(req, session);
    const form = parseBody(RevisionForm, body);
    const json = parseStrictJson(form.parameters);
    if (!json.ok) throw new BadRequestException(`parameters: not valid JSON (${json.message})`);
    // The JSON API's rules for the object itself (an object, depth, free text).
    const { parameters, reason, shownDigest } = parseBody(ReviseBody, { parameters: json.value, reason: form.reason, shownDigest: form.shownDigest });
    try {
      return await this.revisions.revise(actionId, session.principal, parameters, reason, shownDigest);
    } finally {
      this.feed.nudge();
    }
  }
}

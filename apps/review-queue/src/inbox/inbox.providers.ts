import type { Provider, Type } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { INBOX_OPTIONS } from '../tokens';
import { InboxController } from './inbox.controller';
import { InboxRevisionsController } from './inbox-revisions.controller';
import { InboxFeed } from './inbox-feed';
import type { InboxOptions } from './inbox.options';
import { OidcSignIn } from './oidc-sign-in';
import { Sessions } from './sessions';
import { SignedInGuard } from './signed-in.guard';
import { SignInController } from './sign-in.controller';

/** The reviewer inbox's controllers and providers, for the review queue's module (only when it has `InboxOptions`). */
export function inboxParts(options: InboxOptions): { controllers: Type[]; providers: Provider[] } {
  return {
    controllers: [SignInController, InboxController, InboxRevisionsController],
    // The session routes' guard: a body is read only for a signed-in reviewer (signed-in.guard.ts).
    providers: [{ provide: INBOX_OPTIONS, useValue: options }, Sessions, OidcSignIn, InboxFeed, { provide: APP_GUARD, useClass: SignedInGuard }],
  };
}

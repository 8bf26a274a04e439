import type { Provider, Type } from '@nestjs/common';
import { INBOX_OPTIONS } from '../tokens';
import { InboxController } from './inbox.controller';
import { InboxRevisionsController } from './inbox-revisions.controller';
import { InboxFeed } from './inbox-feed';
import type { InboxOptions } from './inbox.options';
import { OidcSignIn } from './oidc-sign-in';
import { Sessions } from './sessions';
import { SignInController } from './sign-in.controller';

/** The reviewer inbox's controllers and providers, for the review queue's module (only when it has `InboxOptions`). */
export function inboxParts(options: InboxOptions): { controllers: Type[]; providers: Provider[] } {
  return {
    controllers: [SignInController, InboxController, InboxRevisionsController],
    providers: [{ provide: INBOX_OPTIONS, useValue: options }, Sessions, OidcSignIn, InboxFeed],
  };
}

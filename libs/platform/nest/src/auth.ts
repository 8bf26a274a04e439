import { createHash, timingSafeEqual } from 'node:crypto';
import { CanActivate, ExecutionContext, Injectable, SetMetadata, UnauthorizedException, ForbiddenException, Inject } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { z } from 'zod';

/** An authenticated caller. */
export interface Principal {
  id: string;
  kind: 'agent' | 'human' | 'service';
  roles: string[];
}

/** One API token, stored only as its SHA-256: the tokens file holds no usable secret. */
export const TokenEntrySchema = z.object({
  principal: z.string().min(1),
  kind: z.enum(['agent', 'human', 'service']),
  roles: z.array(z.string().min(1)).min(1),
  tokenSha256: z.string().regex(/^[0-9a-f]{64}$/),
});
export type TokenEntry = z.infer<typeof TokenEntrySchema>;
export const TokensFileSchema = z.array(TokenEntrySchema);

export const sha256Hex = (s: string) => createHash('sha256').update(s).digest('hex');

/** Resolves bearer tokens to principals, comparing digests in constant time. */
export class TokenRegistry {
  private readonly byDigest: Map<string, TokenEntry>;
  constructor(entries: TokenEntry[]) {
    this.byDigest = new Map(entries.map((e) => [e.tokenSha256, e]));
  }

  resolve(token: string): Principal | undefined {
    const digest = sha256Hex(token);
    const entry = this.byDigest.get(digest);
    if (!entry || !timingSafeEqual(Buffer.from(entry.tokenSha256), Buffer.from(digest))) return undefined;
    return { id: entry.principal, kind: entry.kind, roles: entry.roles };
  }
}

export const TOKEN_REGISTRY = Symbol.for('countersign.TokenRegistry');
const ROLES = 'countersign:roles';

/** The roles of which the caller needs at least one. */
export const Roles = (...roles: string[]) => SetMetadata(ROLES, roles);

/** Requests carry the principal once authenticated. */
export interface AuthenticatedRequest {
  principal?: Principal;
  headers: Record<string, string | string[] | undefined>;
}

/** Bearer-token authentication and role check for every route that declares `@Roles(...)`. */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Inject(TOKEN_REGISTRY) private readonly tokens: TokenRegistry,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const roles = this.reflector.getAllAndOverride<string[] | undefined>(ROLES, [context.getHandler(), context.getClass()]);
    if (!roles) return true;
    const req = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const header = req.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer (\S+)$/.exec(header) : null;
    if (!match) throw new UnauthorizedException('missing bearer token (Authorization: Bearer <token>)');
    const principal = this.tokens.resolve(match[1]);
    if (!principal) throw new UnauthorizedException('unknown or revoked token');
    req.principal = principal;
    if (!roles.some((r) => principal.roles.includes(r))) {
      throw new ForbiddenException(`requires one of the roles: ${roles.join(', ')}`);
    }
    return true;
  }
}

/** Reads a tokens file (JSON array of {principal, kind, roles, tokenSha256}); a bad file stops the service. */
export function loadTokenRegistry(path: string): TokenRegistry {
  const { readFileSync } = require('node:fs') as typeof import('node:fs');
  const parsed = TokensFileSchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
  if (!parsed.success) throw new Error(`tokens file ${path} is invalid: ${parsed.error.issues[0]?.path.join('.')} ${parsed.error.issues[0]?.message}`);
  return new TokenRegistry(parsed.data);
}

import { Controller, Get, Header, Injectable, ServiceUnavailableException } from '@nestjs/common';
import { ANY_ROLE, Roles } from '../auth';
import type { OpenApiDocument } from './document';
import { ApiRoute } from './route-doc';

/** The process's OpenAPI document, built once its routes are known (`serve` → `publishOpenApi`). */
@Injectable()
export class OpenApiDocumentHolder {
  document?: OpenApiDocument;
}

/**
 * `GET /openapi.json`: the document of the routes this process serves, for any valid token (whatever its roles):
 * every route is authenticated but the health probes, and the document tells an attacker the shape of each route.
 */
@Controller()
export class OpenApiController {
  constructor(private readonly holder: OpenApiDocumentHolder) {}

  @Get('openapi.json')
  @Roles(ANY_ROLE)
  @Header('Cache-Control', 'no-store')
  @ApiRoute({
    summary: 'This OpenAPI 3.1 document',
    ok: { description: 'The OpenAPI 3.1 document of every route this process serves', schema: { type: 'object', required: ['openapi', 'info', 'paths'] } },
    errors: { 503: 'the document is not built yet (the process is starting)' },
    unavailable: false,
  })
  document(): OpenApiDocument {
    if (!this.holder.document) throw new ServiceUnavailableException('the OpenAPI document is not built yet');
    return this.holder.document;
  }
}

import type { HttpResponse } from './sessions';

/**
 * Every inbox answer: scripts, styles and connections from this origin only (no CDN, no inline script), no framing,
 * no referrer to other sites (a card's URL names an action), and nothing kept in a cache (cards show real data).
 */
export function securityHeaders(res: HttpResponse, cache = false) {
  res.setHeader(
    'Content-Security-Policy',
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  );
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('Cache-Control', cache ? 'private, max-age=300' : 'no-store');
}

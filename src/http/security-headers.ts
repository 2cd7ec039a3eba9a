// Security headers on every answer (@fastify/helmet): a strict Content Security Policy (scripts
// and styles from this origin only, nothing inline, never framed), nosniff, no referrer.
// Swagger UI at /docs keeps its own policy, which only adds the inline styles and data: images
// its renderer needs; its scripts are files, so script-src stays 'self' there too.
import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';

const DIRECTIVES = {
  'default-src': ["'none'"],
  'script-src': ["'self'"],
  'style-src': ["'self'"],
  'img-src': ["'self'", 'data:'],
  'connect-src': ["'self'"],
  'font-src': ["'self'"],
  'form-action': ["'self'"],
  'frame-ancestors': ["'none'"],
  'base-uri': ["'none'"],
  'object-src': ["'none'"],
};

const render = (directives: Record<string, string[]>) => Object.entries(directives).map(([name, values]) => `${name} ${values.join(' ')}`).join('; ');

export const CONTENT_SECURITY_POLICY = render(DIRECTIVES);
export const DOCS_CONTENT_SECURITY_POLICY = render({ ...DIRECTIVES, 'style-src': ["'self'", "'unsafe-inline'"] });

export async function registerSecurityHeaders(app: FastifyInstance): Promise<void> {
  await app.register(helmet, {
    contentSecurityPolicy: { useDefaults: false, directives: DIRECTIVES },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    // HSTS is the app's own, and only under TLS (app.ts); a plain-HTTP localhost must not pin it.
    strictTransportSecurity: false,
    // The API is called from other origins' servers (CI, the CLI), never embedded: no COEP needed.
    crossOriginEmbedderPolicy: false,
  });
}

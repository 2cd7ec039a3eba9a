// The one place errors become responses: application/problem+json with a stable `code`.
// Domain errors carry their own status and code; validation and parser errors are named here;
// anything else is a 500 that says only that something failed, plus the request id.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError, TooManyRequestsError, UnauthorizedError } from '../errors.js';

interface ProblemBody {
  type: string;
  title: string;
  status: number;
  code: string;
  detail: string;
  instance?: string;
  requestId: string;
  field?: string;
  [extra: string]: unknown;
}

const TITLES: Record<number, string> = {
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed',
  406: 'Not Acceptable', 409: 'Conflict', 413: 'Content Too Large', 415: 'Unsupported Media Type',
  422: 'Unprocessable Content', 429: 'Too Many Requests', 500: 'Internal Server Error', 503: 'Service Unavailable',
};

// Fastify's own error codes, turned into ours.
const FASTIFY_CODES: Record<string, [number, string]> = {
  FST_ERR_CTP_BODY_TOO_LARGE: [413, 'payload_too_large'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [415, 'unsupported_media_type'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [400, 'invalid_content_length'],
  FST_ERR_CTP_EMPTY_JSON_BODY: [400, 'invalid_json'],
  FST_ERR_CTP_INVALID_JSON_BODY: [400, 'invalid_json'],
};

export function sendProblem(reply: FastifyReply, request: FastifyRequest, status: number, code: string, detail: string, extra: Record<string, unknown> = {}) {
  // Extras first: they may add fields but never replace the standard ones.
  const body: ProblemBody = {
    ...extra,
    type: `https://stackpilot.dev/problems/${code}`,
    title: TITLES[status] ?? 'Error',
    status,
    code,
    detail,
    instance: request.url.split('?')[0],
    requestId: String(request.id),
  };
  return reply.code(status).type('application/problem+json').send(body);
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof TooManyRequestsError) reply.header('retry-after', String(error.retryAfterSeconds));
    if (error instanceof UnauthorizedError) reply.header('www-authenticate', 'Bearer realm="stackpilot"');
    if (error instanceof DomainError) {
      return sendProblem(reply, request, error.status, error.code, error.message, error.details);
    }
    if (error.validation) {
      const first = error.validation[0];
      const where = error.validationContext ?? 'request';
      const path = first?.instancePath?.replace(/^\//, '').replace(/\//g, '.') ?? '';
      const extra = (first?.params as { additionalProperty?: string } | undefined)?.additionalProperty;
      const field = [where, path, extra].filter(Boolean).join('.');
      const message = extra ? `unknown property ${extra}` : first?.message ?? 'is invalid';
      return sendProblem(reply, request, 400, 'invalid_request', `${field} ${message}`, { field });
    }
    const known = error.code ? FASTIFY_CODES[error.code] : undefined;
    if (known) return sendProblem(reply, request, known[0], known[1], error.message);
    if (error instanceof SyntaxError || (error.statusCode === 400 && /JSON/i.test(error.message))) {
      return sendProblem(reply, request, 400, 'invalid_json', 'the body is not valid JSON');
    }
    if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
      return sendProblem(reply, request, error.statusCode, 'bad_request', error.message);
    }
    request.log.error({ err: error }, 'request failed');
    return sendProblem(reply, request, 500, 'internal_error', 'the request failed; the request id identifies it in the service log');
  });

  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, request, 404, 'route_not_found', `no route ${request.method} ${request.url.split('?')[0]}`));
}

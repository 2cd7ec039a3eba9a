// Domain errors. Domain code throws these; one handler (app/error-handler.ts) turns them into
// application/problem+json with the error's stable `code`. Messages must never contain secrets:
// they are shown to callers as they are.

export abstract class DomainError extends Error {
  abstract readonly status: number;
  constructor(readonly code: string, message: string, readonly details: Record<string, unknown> = {}) {
    super(message);
    this.name = new.target.name;
  }
}

export class InvalidInputError extends DomainError {
  readonly status = 400;
}

export class NotFoundError extends DomainError {
  readonly status = 404;
}

export class ConflictError extends DomainError {
  readonly status = 409;
}

/** A conditional request (If-Match) whose condition no longer holds. */
export class PreconditionFailedError extends DomainError {
  readonly status = 412;
}

/** A change that must name the version it changes (If-Match) and did not. */
export class PreconditionRequiredError extends DomainError {
  readonly status = 428;
}

/** Well-formed but unacceptable, for example an Idempotency-Key reused with another body. */
export class UnprocessableError extends DomainError {
  readonly status = 422;
}

export class UnavailableError extends DomainError {
  readonly status = 503;
}

/** No valid credential: missing, malformed, unknown, expired, revoked or rotated out. */
export class UnauthorizedError extends DomainError {
  readonly status = 401;
  /**
   * Whose known credential was refused (an expired or revoked key): for the audit trail only,
   * never shown to the caller.
   */
  attempt?: { principal: string; credentialId: string };

  by(principal: string, credentialId: string): this {
    this.attempt = { principal, credentialId };
    return this;
  }
}

/** A valid credential without the permission, or without the second factor it needs. */
export class ForbiddenError extends DomainError {
  readonly status = 403;
}

export class TooManyRequestsError extends DomainError {
  readonly status = 429;
  constructor(code: string, message: string, readonly retryAfterSeconds: number) {
    super(code, message, { retryAfterSeconds });
  }
}

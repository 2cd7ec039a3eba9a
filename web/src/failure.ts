// A failed call in words for a person: the service's own sentence (its problem detail) after a
// general one for the status; never the raw JSON.
import type { components } from '../../clients/typescript/index.js';

type Problem = components['schemas']['Problem'];

export class ApiError extends Error {
  constructor(message: string, readonly status: number, readonly code?: string) {
    super(message);
  }
}

const BY_STATUS: Record<number, string> = {
  401: 'You are not signed in, or your session has ended. Sign in again.',
  403: 'You are not allowed to do this.',
  404: 'This was not found.',
  409: 'This conflicts with what is happening now.',
  429: 'Too many requests: wait a moment and try again.',
};

/** Words for a failed call: the service's own sentence (its problem detail) when it gave one. */
export function describeFailure(status: number, problem: unknown): ApiError {
  const p = (problem && typeof problem === 'object' ? problem : {}) as Partial<Problem>;
  if (status >= 500) return new ApiError(`Something failed in the service${p.requestId ? ` (request ${p.requestId})` : ''}. Try again; if it keeps failing, tell an administrator.`, status, p.code);
  const detail = typeof p.detail === 'string' && p.detail ? sentence(p.detail) : '';
  const general = BY_STATUS[status] ?? (typeof p.title === 'string' ? sentence(p.title) : 'The request was refused.');
  return new ApiError(detail ? `${general.replace(/\.$/, '')}: ${detail}` : general, status, p.code);
}

const sentence = (text: string) => {
  const trimmed = text.trim();
  return /[.!?]$/.test(trimmed) ? trimmed : `${trimmed}.`;
};

// The one way the dashboard reaches the service: the generated client (clients/typescript),
// authenticated by the browser's session cookie, with the CSRF token on every request (the
// service checks it on changes). Every failure becomes words for a person, never raw JSON.
import { createStackpilotClient, type components } from '../../clients/typescript/index.js';

export type Operation = components['schemas']['Operation'];
export type Environment = components['schemas']['Environment'];
export type Release = components['schemas']['Release'];
export type ConfigVersion = components['schemas']['ConfigVersion'];
export type Grant = components['schemas']['Grant'];
type Problem = components['schemas']['Problem'];

let csrfToken: string | null = null;
export const setCsrfToken = (token: string | null) => { csrfToken = token; };

export const api = createStackpilotClient({
  baseUrl: location.origin,
  headers: (): Record<string, string> => (csrfToken ? { 'x-csrf-token': csrfToken } : {}),
});

/** A client for signing in: the key goes as a bearer once, and is not kept. */
export const signInClient = (key: string) => createStackpilotClient({ baseUrl: location.origin, token: () => key });

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

/** Unwraps a client call: its data, or an ApiError in words. */
export async function call<T>(request: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  let result;
  try {
    result = await request;
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw error;
    throw new ApiError('The service could not be reached. Check your connection and try again.', 0);
  }
  if (!result.response.ok) {
    if (result.response.status === 401) onSignedOut?.();
    throw describeFailure(result.response.status, result.error);
  }
  return result.data as T;
}

let onSignedOut: (() => void) | undefined;
export const whenSignedOut = (handler: () => void) => { onSignedOut = handler; };

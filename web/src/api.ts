// The one way the dashboard reaches the service: the generated client (clients/typescript),
// authenticated by the browser's session cookie, with the CSRF token on every request (the
// service checks it on changes). Every failure becomes words for a person, never raw JSON.
import { createStackpilotClient, type components } from '../../clients/typescript/index.js';
import { ApiError, describeFailure } from './failure.js';

export { ApiError, describeFailure };

export type Operation = components['schemas']['Operation'];
export type Environment = components['schemas']['Environment'];
export type Release = components['schemas']['Release'];
export type ConfigVersion = components['schemas']['ConfigVersion'];
export type Grant = components['schemas']['Grant'];

let csrfToken: string | null = null;
export const setCsrfToken = (token: string | null) => { csrfToken = token; };

export const api = createStackpilotClient({
  baseUrl: location.origin,
  headers: (): Record<string, string> => (csrfToken ? { 'x-csrf-token': csrfToken } : {}),
});

/** A client for signing in: the key goes as a bearer once, and is not kept. */
export const signInClient = (key: string) => createStackpilotClient({ baseUrl: location.origin, token: () => key });

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

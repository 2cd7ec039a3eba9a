// The CLI's one way to the API: the generated client, with the connection from the environment.
import { createStackpilotClient } from '../clients/typescript/index.js';
import type { paths } from '../clients/typescript/schema.js';
import type { Connection } from './credentials.js';

export type ApiPaths = paths;

export const CLI_VERSION = '0.1.0';

export function apiClient(connection: Connection) {
  return createStackpilotClient<ApiPaths>({ baseUrl: connection.baseUrl, token: connection.token, userAgent: `stackpilot-cli/${CLI_VERSION}` });
}

export type ApiClient = ReturnType<typeof apiClient>;

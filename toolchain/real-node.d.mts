// Types for real-node.mjs (plain JavaScript, run before npm install), as far as tests use it.
export interface RealNodePaths {
  dir: string;
  socket: string;
  logs: string;
  [name: string]: string;
}
export function realNodePaths(env?: NodeJS.ProcessEnv): RealNodePaths;
export function realNodeName(): string;

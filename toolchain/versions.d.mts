// Types for versions.mjs, which stays plain JavaScript so setup runs before npm install.
export const toolchainDir: string;
export const groups: string[];
export interface Versions {
  node: string;
  pulumi: string;
  plugins: Record<string, { version: string; module: string; moduleVersion: string }>;
  kubernetes: string;
  etcd: string;
  kwok: string;
  coredns: string;
  helm: string;
}
export function readVersions(): Versions;
export function groupKey(group: string): string;
export function cacheRoot(env?: NodeJS.ProcessEnv): string;
export interface ToolchainPaths { root: string; bin: string; plugins: string; pulumiHome: string }
export function toolchainPaths(env?: NodeJS.ProcessEnv): ToolchainPaths;

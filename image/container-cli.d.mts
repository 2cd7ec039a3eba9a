// Types for container-cli.mjs, which stays plain JavaScript so the image build runs before npm install.
export function containerCli(log: (message: string) => void): string;
export function buildOptions(cli: string, timestamp: number): { args: string[]; env: NodeJS.ProcessEnv };

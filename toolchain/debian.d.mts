export declare const REAL_NODE_PACKAGES: Record<string, string>;
/** Installs the packages (name → a file each installs) whose file is missing; needs root to install. */
export declare function ensureDebianPackages(packages: Record<string, string>, log?: (message: string) => void): void;

// Credentials this replica has already checked against the database (API keys, sessions, the
// keys behind sessions, lockout verdicts), kept only as long as the credentials version
// (store/credentials-version.ts) stays what it was when they were read. Every request reads
// the version first: any change on any replica that could make a credential refuse empties
// the whole cache before the request is decided. Times are never cached as verdicts: expiry,
// idle and lifetime limits are checked against the cached row on every request.

export interface CredentialView {
  get<T>(key: string): T | undefined;
  /** Keeps a value read after this view's version was read; ignored once the version moved on. */
  set(key: string, value: unknown): void;
}

/** The value kept under `key`, or what `load` reads (kept for the next request when it returns). */
export async function remember<T>(view: CredentialView, key: string, load: () => Promise<T>): Promise<T> {
  const known = view.get<T>(key);
  if (known !== undefined) return known;
  const loaded = await load();
  view.set(key, loaded);
  return loaded;
}

/** No cache: every lookup goes to the database. */
export const UNCACHED: CredentialView = { get: () => undefined, set: () => undefined };

const DEFAULT_CAPACITY = 10_000;

export class CredentialCache {
  private version: string | undefined;
  private readonly entries = new Map<string, unknown>();
  private currentView: CredentialView = UNCACHED;

  constructor(private readonly versions: { current(): Promise<string> }, private readonly capacity = DEFAULT_CAPACITY) {}

  /** The cache as of a version read after this call. */
  async view(): Promise<CredentialView> {
    const version = await this.versions.current();
    if (version !== this.version) {
      this.entries.clear();
      this.version = version;
      this.currentView = this.viewAt(version);
    }
    return this.currentView;
  }

  private viewAt(version: string): CredentialView {
    return {
      get: <T>(key: string) => (this.version === version ? this.entries.get(key) as T | undefined : undefined),
      set: (key: string, value: unknown) => {
        if (this.version !== version) return;
        if (this.entries.size >= this.capacity) this.entries.clear(); // many credentials in use: start over rather than grow
        this.entries.set(key, value);
      },
    };
  }
}

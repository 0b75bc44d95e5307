/** The API token, asked for once and kept in the browser's localStorage. */

/** Key under which the token is stored. */
export const TOKEN_KEY = 'llm-forge.apiToken';

/** The part of the Web Storage API the store needs (localStorage, or a fake in tests). */
export type KeyValueStorage = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;

/** Reads, saves and forgets the token; tolerates a storage that throws (private mode, quota). */
export class TokenStore {
  private memory: string | null = null;

  constructor(private readonly storage: KeyValueStorage | undefined) {}

  /** The saved token, or null. */
  get(): string | null {
    try {
      return this.storage?.getItem(TOKEN_KEY) ?? this.memory;
    } catch {
      return this.memory;
    }
  }

  /** Saves a token (trimmed); an empty one is rejected. */
  set(token: string): void {
    const t = token.trim();
    if (t === '') throw new Error('the API token is empty: paste the value of FORGE_API_TOKEN');
    this.memory = t;
    try {
      this.storage?.setItem(TOKEN_KEY, t);
    } catch {
      // storage unavailable: the token lives for this page only
    }
  }

  /** Forgets the token (after a 401). */
  clear(): void {
    this.memory = null;
    try {
      this.storage?.removeItem(TOKEN_KEY);
    } catch {
      // nothing stored
    }
  }
}

import { TOKEN_KEY, TokenStore, type KeyValueStorage } from './token-store';

function memoryStorage(): KeyValueStorage & { data: Map<string, string> } {
  const data = new Map<string, string>();
  return {
    data,
    getItem: (k) => data.get(k) ?? null,
    setItem: (k, v) => void data.set(k, v),
    removeItem: (k) => void data.delete(k),
  };
}

describe('TokenStore', () => {
  it('keeps the trimmed token in storage and forgets it', () => {
    const storage = memoryStorage();
    const store = new TokenStore(storage);
    expect(store.get()).toBeNull();
    store.set('  secret-token \n');
    expect(storage.data.get(TOKEN_KEY)).toBe('secret-token');
    expect(new TokenStore(storage).get()).toBe('secret-token');
    store.clear();
    expect(store.get()).toBeNull();
  });

  it('rejects an empty token with a hint', () => {
    expect(() => new TokenStore(memoryStorage()).set('   ')).toThrow('FORGE_API_TOKEN');
  });

  it('falls back to memory when storage throws', () => {
    const broken: KeyValueStorage = {
      getItem: () => {
        throw new Error('denied');
      },
      setItem: () => {
        throw new Error('quota');
      },
      removeItem: () => {
        throw new Error('denied');
      },
    };
    const store = new TokenStore(broken);
    store.set('abc');
    expect(store.get()).toBe('abc');
    store.clear();
    expect(store.get()).toBeNull();
  });
});

// IndexedDB in promises, for the two local stores of the app (devicestore.ts, invites.ts): each names its
// database and creates its object stores on first use.
export type Store = <T>(store: string, mode: IDBTransactionMode, op: (s: IDBObjectStore) => IDBRequest) => Promise<T>;

/** One request in its own transaction; resolves once the transaction has committed. */
export function indexedStore(name: string, upgrade: (db: IDBDatabase) => void): Store {
  const open = () => new Promise<IDBDatabase>((resolve, reject) => {
    const request = indexedDB.open(name, 1);
    request.onupgradeneeded = () => upgrade(request.result);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  return <T>(store: string, mode: IDBTransactionMode, op: (s: IDBObjectStore) => IDBRequest) =>
    open().then((db) => new Promise<T>((resolve, reject) => {
      const tx = db.transaction(store, mode);
      const request = op(tx.objectStore(store));
      tx.oncomplete = () => {
        db.close();
        resolve(request.result as T);
      };
      tx.onerror = tx.onabort = () => {
        db.close();
        reject(tx.error ?? request.error);
      };
    }));
}

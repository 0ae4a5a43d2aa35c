export * from './object-store.port';
export { createGcsObjectStore, type GcsObjectStoreOptions } from './gcs-object-store';
export { createFolderObjectStore } from './folder-object-store';

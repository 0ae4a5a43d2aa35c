export * from './embedded-engine';
export * from './serve';
export { findLiveServer, type ServerRecord } from './server-file';

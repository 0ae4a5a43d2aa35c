export * from './embedded-engine';
export * from './serve';

export * from './envelope';
export * from './events';
export * from './maintenance-events';
export * from './catalog';
export * from './ids';
export * from './event-schemas';
export * from './backfill';
export * from './message-attributes';

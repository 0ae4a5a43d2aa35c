import type { LoggerService } from '@nestjs/common';
import type { Logger } from './logger';

/**
 * Nest's own lines (bootstrap, unhandled errors) through the service's logger: its `log` and
 * `verbose` (module and route listings) at debug, so the default level keeps warnings and errors.
 */
export function nestLogger(logger: Logger): LoggerService {
  const line =
    (level: 'debug' | 'info' | 'warn' | 'error') =>
    (message: unknown, ...rest: unknown[]) => {
      // Nest passes (message, context) or, for errors, (message, stack, context)
      const context = rest.length ? rest[rest.length - 1] : undefined;
      const stack = level === 'error' && rest.length > 1 ? rest[0] : undefined;
      logger[level](
        {
          ...(typeof context === 'string' ? { nestContext: context } : {}),
          ...(typeof stack === 'string' ? { stack } : {}),
        },
        message instanceof Error ? message.message : String(message),
      );
    };
  return {
    log: line('debug'),
    verbose: line('debug'),
    debug: line('debug'),
    warn: line('warn'),
    error: line('error'),
    fatal: line('error'),
  };
}

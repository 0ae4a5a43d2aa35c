import type { IncomingMessage, ServerResponse } from 'node:http';
import { Logger } from '@nestjs/common';
import { judgeRequest, type BrowserSafetyPolicy } from './browser-safety.policy';

// Requests refused before they reach a route are the caller's mistake (or an attack), not the
// api's: one WARN line each, with no stack trace, which would say nothing about the cause.
const logger = new Logger('api');

const pathOf = (req: IncomingMessage) => (req.url ?? '/').split('?')[0];

function sendJson(res: ServerResponse, status: number, body: object): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.end(JSON.stringify(body));
}

/** Express middleware: answers 421/403/415 and CORS preflights, passes everything else on. */
export function browserSafetyMiddleware(policy: BrowserSafetyPolicy) {
  return (req: IncomingMessage, res: ServerResponse, next: () => void): void => {
    const method = req.method ?? 'GET';
    const verdict = judgeRequest(policy, {
      method,
      headers: req.headers,
      localPort: req.socket.localPort ?? 0,
    });
    for (const [name, value] of Object.entries(verdict.headers)) res.setHeader(name, value);
    switch (verdict.action) {
      case 'pass':
        return next();
      case 'preflight':
        res.statusCode = 204;
        res.end();
        return;
      case 'refuse':
        logger.warn(`${verdict.status} ${method} ${pathOf(req)}: ${verdict.body.message}`);
        return sendJson(res, verdict.status, verdict.body);
      default: {
        const never: never = verdict;
        throw new Error(`unhandled verdict ${JSON.stringify(never)}`);
      }
    }
  };
}

/**
 * Express error middleware for the body parser's client errors (malformed JSON, an unsupported
 * charset or encoding, a body over the limit): answers them as JSON, logged like the refusals.
 * Without it Nest logs them at ERROR with a stack trace. Anything else goes on to Nest.
 */
export function bodyErrorMiddleware() {
  return (
    err: unknown,
    req: IncomingMessage,
    res: ServerResponse,
    next: (err?: unknown) => void,
  ): void => {
    const status = (err as { status?: unknown } | null)?.status;
    if (typeof status !== 'number' || status < 400 || status > 499 || res.headersSent) {
      return next(err);
    }
    const message = err instanceof Error ? err.message : 'the request body could not be read';
    logger.warn(`${status} ${req.method ?? 'GET'} ${pathOf(req)}: ${message}`);
    sendJson(res, status, { statusCode: status, message });
  };
}

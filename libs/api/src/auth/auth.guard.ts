import {
  createParamDecorator,
  HttpException,
  HttpStatus,
  Inject,
  Injectable,
  SetMetadata,
  type CanActivate,
  type CustomDecorator,
  type ExecutionContext,
  type Provider,
} from '@nestjs/common';
import { APP_GUARD, Reflector } from '@nestjs/core';
import {
  AuthError,
  AuthUnavailableError,
  roleAllows,
  type Authenticator,
  type Principal,
  type Role,
} from './authenticator';
import { PUBLIC_KEY } from '@almanac/platform';

const AUTHENTICATOR = Symbol('almanac.Authenticator');

const ROLE_KEY = 'almanac:auth:role';
const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Overrides the default rule (reads need viewer, everything else operator). */
export const RequireRole = (role: Role): CustomDecorator<string> => SetMetadata(ROLE_KEY, role);

/** The only parts of the HTTP request and response the guard uses. */
interface AuthenticatedRequest {
  method: string;
  headers: Record<string, string | string[] | undefined>;
  /** set by ApiAuthGuard; absent on @Public() routes */
  principal?: Principal;
}
interface HeaderSink {
  setHeader(name: string, value: string): unknown;
}

/** The caller of the current request (undefined on @Public() routes). */
export const Caller = createParamDecorator(
  (_data: unknown, ctx: ExecutionContext): Principal | undefined =>
    ctx.switchToHttp().getRequest<AuthenticatedRequest>().principal,
);

function defaultRole(method: string): Role {
  return READ_METHODS.has(method.toUpperCase()) ? 'viewer' : 'operator';
}

/** Authenticates every request except @Public() ones and checks the caller's role. */
@Injectable()
class ApiAuthGuard implements CanActivate {
  // explicit tokens: the CLI runs through esbuild, which emits no decorator metadata (ADR 0003)
  constructor(
    @Inject(AUTHENTICATOR) private readonly authenticator: Authenticator,
    @Inject(Reflector) private readonly reflector: Reflector,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean | undefined>(PUBLIC_KEY, targets)) return true;
    const http = context.switchToHttp();
    const request = http.getRequest<AuthenticatedRequest>();
    const needed =
      this.reflector.getAllAndOverride<Role | undefined>(ROLE_KEY, targets) ??
      defaultRole(request.method);
    const principal = await this.authenticate(request, http.getResponse<HeaderSink>());
    if (!roleAllows(principal.role, needed)) {
      throw reply(
        HttpStatus.FORBIDDEN,
        `this call needs the ${needed} role; ${principal.name} has the ${principal.role} role`,
      );
    }
    request.principal = principal;
    return true;
  }

  private async authenticate(
    request: AuthenticatedRequest,
    response: HeaderSink,
  ): Promise<Principal> {
    const header = request.headers.authorization;
    try {
      return await this.authenticator.authenticate(Array.isArray(header) ? header[0] : header);
    } catch (err) {
      if (err instanceof AuthUnavailableError) {
        throw new HttpException(
          { statusCode: HttpStatus.SERVICE_UNAVAILABLE, message: err.message },
          HttpStatus.SERVICE_UNAVAILABLE,
          { cause: err },
        );
      }
      if (!(err instanceof AuthError)) throw err;
      if (err.status === 401) {
        // RFC 6750: no error code when the request carried no credentials at all
        const challenge =
          err.code === 'missing-header'
            ? 'Bearer realm="almanac"'
            : 'Bearer realm="almanac", error="invalid_token"';
        response.setHeader('WWW-Authenticate', challenge);
      }
      throw reply(err.status, err.message);
    }
  }
}

function reply(status: number, message: string): HttpException {
  return new HttpException({ statusCode: status, message }, status);
}

/** AUTHENTICATOR and the global guard, for a Nest module's providers. */
export function authProviders(authenticator: Authenticator): Provider[] {
  return [
    { provide: AUTHENTICATOR, useValue: authenticator },
    {
      provide: APP_GUARD,
      useFactory: (auth: Authenticator, reflector: Reflector) => new ApiAuthGuard(auth, reflector),
      inject: [AUTHENTICATOR, Reflector],
    },
  ];
}

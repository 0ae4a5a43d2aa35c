import { z } from 'zod';

/** The roles of the api: viewers read, operators also request runs and rebuild views. */
export const RoleSchema = z.enum(['viewer', 'operator']);
export const Email = z.email().transform((e) => e.toLowerCase());
/** An api token in almanac.config.ts: only its digest, so no secret is committed. */
export const ApiTokenSetting = z
  .object({
    name: z.string().trim().min(1),
    role: RoleSchema,
    sha256: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, "sha256 must be the 64 hex digits of the token's SHA-256")
      .transform((h) => h.toLowerCase()),
  })
  .strict();

export const OidcSettings = z
  .object({
    audience: z.string().trim().min(1),
    operators: z.array(Email).default([]),
    viewers: z.union([z.literal('any'), z.array(Email)]).default([]),
  })
  .strict();

/** The `api.auth` block of almanac.config.ts. */
export const ApiAuthSettings = z
  .object({
    tokens: z.array(ApiTokenSetting).default([]),
    oidc: OidcSettings.optional(),
  })
  .strict();
export type ApiAuthSettings = z.output<typeof ApiAuthSettings>;

import { z } from 'zod';
import { DatacenterAccessSchema, ROLES } from '#shared/auth/principal';
import { defineEntity, type EntityDefinition } from '#shared/model/entity';
import { text } from '#shared/model/fields';

/**
 * A person who logs in (and owns API keys). Secrets (password hash, TOTP seed, recovery code hashes, lock-out
 * counters) are stored on the same item but are neither fields nor read-only fields, so no response can carry them.
 */
export const userEntity: EntityDefinition = defineEntity({
  type: 'user',
  collection: 'users',
  schemaName: 'User',
  fields: z.object({
    username: text(64).regex(/^[a-zA-Z0-9][a-zA-Z0-9._@-]*$/, 'letters, digits and . _ @ - only'),
    email: z.email().max(254),
    role: z.enum(ROLES),
    datacenter_access: DatacenterAccessSchema.default([]).meta({
      description: '"all", or a list of {datacenter_id, access: read|write}; a new user sees nothing until granted',
    }),
    disabled: z.boolean().default(false),
  }),
  readOnly: z.object({
    mfa_enabled: z.boolean(),
    last_login_at: z.string().nullable(),
    last_login_ip: z.string().nullable(),
    locked_until: z.string().nullable(),
  }),
  unique: [
    { field: 'username', value: (record) => String(record.username).toLowerCase() },
    { field: 'email', value: (record) => String(record.email).toLowerCase() },
  ],
  filters: z.object({
    username: z.string().max(64).optional(),
    role: z.enum(ROLES).optional(),
    email: z.string().max(254).optional(),
  }),
});

import { z } from 'zod';
import { ROLES, type Role } from '#shared/auth/principal';
import { repo } from '#shared/db/repository';
import { defineEntity, type EntityDefinition, type EntityRecord } from '#shared/model/entity';

export const SECURITY_SETTINGS_ID = 'security';

/** Security settings of the installation (one object): which roles must use MFA to log in. */
export const securitySettingsEntity: EntityDefinition = defineEntity({
  type: 'security_settings',
  collection: 'settings',
  schemaName: 'SecuritySettings',
  label: 'security settings',
  fields: z.object({
    mfa_required_roles: z.array(z.enum(ROLES)).max(ROLES.length).default([]),
  }),
});

export async function securitySettings(): Promise<EntityRecord> {
  return (
    (await repo().get(securitySettingsEntity, SECURITY_SETTINGS_ID)) ?? {
      id: SECURITY_SETTINGS_ID,
      created_at: new Date(0).toISOString(),
      updated_at: new Date(0).toISOString(),
      version: 0,
      mfa_required_roles: [],
    }
  );
}

export async function mfaRequiredFor(role: Role): Promise<boolean> {
  const settings = await securitySettings();
  return Array.isArray(settings.mfa_required_roles) && settings.mfa_required_roles.includes(role);
}

import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export interface DevSecrets {
  readonly jwtSecret: string;
  readonly adminToken: string;
}

/**
 * Secrets for the demo: made once and kept in the data folder (mode 600), so
 * a restart keeps tokens valid and `seckill token` can mint with them.
 */
export function devSecretsFile(dataDir: string): string {
  return path.join(dataDir, 'dev-secrets.json');
}

export function readDevSecrets(dataDir: string): DevSecrets | undefined {
  try {
    const s = JSON.parse(fs.readFileSync(devSecretsFile(dataDir), 'utf8')) as Partial<DevSecrets>;
    return typeof s.jwtSecret === 'string' && typeof s.adminToken === 'string'
      ? { jwtSecret: s.jwtSecret, adminToken: s.adminToken }
      : undefined;
  } catch {
    return undefined;
  }
}

export function ensureDevSecrets(dataDir: string): DevSecrets {
  const existing = readDevSecrets(dataDir);
  if (existing !== undefined) return existing;
  const secrets = { jwtSecret: randomBytes(32).toString('base64url'), adminToken: randomBytes(24).toString('base64url') };
  fs.mkdirSync(dataDir, { recursive: true });
  fs.writeFileSync(devSecretsFile(dataDir), JSON.stringify(secrets, null, 2) + '\n', { mode: 0o600 });
  return secrets;
}

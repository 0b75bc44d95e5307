import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/** The repository root (infra/src/lib/test-utils → four levels up). */
export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..', '..');

/** infra/k8s in the repository. */
export const K8S_DIR = path.join(REPO_ROOT, 'infra', 'k8s');

/**
 * A throwaway copy of infra/k8s with a base/secrets.env of fresh random values (the real one is
 * git-ignored and never read by tests), plus a cleanup function.
 */
export function k8sTreeWithSecrets(secrets?: Record<string, string>): { dir: string; cleanup: () => void } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'forge-k8s-'));
  const dir = path.join(root, 'k8s');
  fs.cpSync(K8S_DIR, dir, {
    recursive: true,
    filter: (src) => path.basename(src) !== 'secrets.env' && path.basename(src) !== 'tls',
  });
  const values = secrets ?? {
    FORGE_API_TOKEN: randomBytes(24).toString('hex'),
    FORGE_CLUSTER_SECRET: randomBytes(32).toString('hex'),
    REDIS_PASSWORD: randomBytes(24).toString('hex'),
  };
  const text = Object.entries(values)
    .map(([k, v]) => `${k}=${v}\n`)
    .join('');
  fs.writeFileSync(path.join(dir, 'base', 'secrets.env'), text);
  // The forge-tls Secret's files (git-ignored like secrets.env): placeholders are enough for the
  // manifests; the TLS itself is tested with openssl-made certificates in libs/proto.
  const tls = path.join(dir, 'base', 'tls');
  fs.mkdirSync(tls, { recursive: true });
  for (const file of ['ca.crt', 'tls.crt', 'tls.key']) {
    fs.writeFileSync(
      path.join(tls, file),
      `-----BEGIN PLACEHOLDER-----\n${file}\n-----END PLACEHOLDER-----\n`,
    );
  }
  return { dir, cleanup: () => fs.rmSync(root, { recursive: true, force: true }) };
}

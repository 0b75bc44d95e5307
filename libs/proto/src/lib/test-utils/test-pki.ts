/**
 * Test helper: a throw-away PKI made by the real `openssl` — a CA and a certificate signed by it for
 * the cluster name `llm-forge` (plus localhost and 127.0.0.1), and a second, foreign CA with its own
 * certificate, to show that a certificate of another CA is refused.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

/** Paths of one CA and a certificate it signed. */
export interface TestPkiFiles {
  ca: string;
  cert: string;
  key: string;
}

/** The cluster's PKI and a foreign one, as PEM file paths. */
export interface TestPki {
  /** The name every certificate carries (use as FORGE_TLS_SERVER_NAME). */
  serverName: string;
  cluster: TestPkiFiles;
  foreign: TestPkiFiles;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'pipe' });
}

function makeCa(dir: string, name: string): { ca: string; caKey: string } {
  openssl(
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${name}`,
     '-keyout', `${name}.key`, '-out', `${name}.pem`], // prettier-ignore
    dir,
  );
  return { ca: path.join(dir, `${name}.pem`), caKey: path.join(dir, `${name}.key`) };
}

function makeLeaf(dir: string, ca: { ca: string; caKey: string }, name: string): TestPkiFiles {
  const ext = path.join(dir, `${name}.ext`);
  fs.writeFileSync(
    ext,
    'subjectAltName=DNS:llm-forge,DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n',
  );
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=llm-forge', '-keyout', `${name}.key`, '-out', `${name}.csr`], dir); // prettier-ignore
  openssl(
    ['x509', '-req', '-in', `${name}.csr`, '-CA', ca.ca, '-CAkey', ca.caKey, '-CAcreateserial',
     '-days', '2', '-extfile', ext, '-out', `${name}.pem`], // prettier-ignore
    dir,
  );
  return { ca: ca.ca, cert: path.join(dir, `${name}.pem`), key: path.join(dir, `${name}.key`) };
}

/** Writes a cluster CA and certificate, and a foreign CA and certificate, into `dir`. */
export function makeTestPki(dir: string): TestPki {
  fs.mkdirSync(dir, { recursive: true });
  const clusterCa = makeCa(dir, 'cluster-ca');
  const foreignCa = makeCa(dir, 'foreign-ca');
  return {
    serverName: 'llm-forge',
    cluster: makeLeaf(dir, clusterCa, 'member'),
    foreign: makeLeaf(dir, foreignCa, 'intruder'),
  };
}

/** The FORGE_TLS_* environment of `files` (and the server name). */
export function tlsEnv(files: TestPkiFiles, serverName = 'llm-forge'): Record<string, string> {
  return {
    FORGE_TLS_CA: files.ca,
    FORGE_TLS_CERT: files.cert,
    FORGE_TLS_KEY: files.key,
    FORGE_TLS_SERVER_NAME: serverName,
  };
}

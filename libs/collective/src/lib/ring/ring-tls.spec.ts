/**
 * The ring over mutual TLS (a CA made by openssl in the test), and its refusal to carry the cluster
 * secret in clear text beyond loopback (issue 14: every channel was createInsecure()).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { transportSecurityFromEnv, type TransportSecurity } from '@llm-forge/proto';
import { makeTestPki, tlsEnv, type TestPki } from '@llm-forge/proto/testing';
import { CollectiveConfigError } from '../errors/collective-config-error';
import { CollectiveError } from '../errors/collective-error';
import { randomBuffer, startRing } from '../test-utils/ring-harness';
import { RingAllReduce } from './ring-all-reduce';

let tmp: string;
let pki: TestPki;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'forge-ring-tls-'));
  pki = makeTestPki(tmp);
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('ring transport security', () => {
  it('all-reduces over mutual TLS', async () => {
    const transport = transportSecurityFromEnv(tlsEnv(pki.cluster));
    const rings = await startRing(3, { transport });
    try {
      const inputs = rings.map((_, r) => randomBuffer(1000, r + 1, true));
      const expected = inputs[0].map((_, i) => inputs[0][i] + inputs[1][i] + inputs[2][i]);
      await Promise.all(rings.map((r, i) => r.allReduce(inputs[i], { step: 0 }))); // in place
      for (const reduced of inputs) expect(Array.from(reduced)).toEqual(Array.from(expected));
    } finally {
      await Promise.all(rings.map((r) => r.close()));
    }
  });

  it('does not connect a plaintext rank to a TLS rank, nor a rank of another CA', async () => {
    const tls = await RingAllReduce.listen({
      rank: 1,
      worldSize: 2,
      secret: 'test-secret',
      transport: transportSecurityFromEnv(tlsEnv(pki.cluster)),
    });
    const peers: RingAllReduce[] = [];
    try {
      for (const transport of [
        { allowInsecure: false },
        transportSecurityFromEnv({ ...tlsEnv(pki.foreign), FORGE_TLS_CA: pki.cluster.ca }),
      ] satisfies TransportSecurity[]) {
        const other = await RingAllReduce.listen({ rank: 0, worldSize: 2, secret: 'test-secret', transport });
        peers.push(other);
        await expect(other.connect([other.address, tls.address], 1500)).rejects.toThrow(CollectiveError);
      }
    } finally {
      await Promise.all([tls, ...peers].map((r) => r.close()));
    }
  });

  it('refuses plaintext beyond loopback, to listen or to connect, unless allowed', async () => {
    const plain: TransportSecurity = { allowInsecure: false };
    const listening = RingAllReduce.listen({
      rank: 0,
      worldSize: 1,
      secret: 's',
      host: '0.0.0.0',
      transport: plain,
    });
    await expect(listening).rejects.toThrow(CollectiveConfigError);
    await expect(listening).rejects.toThrow(
      /transport is plaintext and host .* is 0\.0\.0\.0:0.*FORGE_TLS_CA/,
    );

    const ring = await RingAllReduce.listen({ rank: 0, worldSize: 2, secret: 's', transport: plain });
    try {
      await expect(ring.connect([ring.address, '10.1.2.3:50052'], 500)).rejects.toThrow(
        /the address of rank 1 is 10\.1\.2\.3:50052, beyond loopback/,
      );
    } finally {
      await ring.close();
    }
    const open = await RingAllReduce.listen({
      rank: 0,
      worldSize: 1,
      secret: 's',
      host: '0.0.0.0',
      transport: { allowInsecure: true },
    });
    await open.close();
  });
});

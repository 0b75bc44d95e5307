import * as fs from 'fs';
import * as path from 'path';
import { appOfImage } from '../app-contract';
import { appSourceRoots, unreadVariables } from '../source-usage';
import { k8sTreeWithSecrets, REPO_ROOT } from '../test-utils/k8s-tree';
import { Json, JsonObject } from '../yaml-files';
import { checkAppContract } from './app-checks';
import { checkCrossReferences } from './cross-references';
import { K8sObject } from './k8s-object';
import { checkKnownFields } from './known-fields';
import { KUSTOMIZE_MAJOR, kustomizeVersion, renderKustomization } from './render';
import { validateSchemas } from './schema';

/** All problems the three validators find. */
function problems(objects: K8sObject[]): string[] {
  return [...validateSchemas(objects), ...checkCrossReferences(objects), ...checkAppContract(objects)];
}

function find(objects: K8sObject[], kind: string, name: string): K8sObject {
  const object = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!object) throw new Error(`${kind}/${name} not rendered`);
  return object;
}

function podSpec(object: K8sObject): JsonObject {
  const spec = object.spec as JsonObject;
  return (spec.template as JsonObject).spec as JsonObject;
}

function container(object: K8sObject, name: string): JsonObject {
  const list = podSpec(object).containers as JsonObject[];
  const found = list.find((c) => c.name === name);
  if (!found) throw new Error(`no container ${name}`);
  return found;
}

function envValue(c: JsonObject, name: string): Json | undefined {
  return (c.env as JsonObject[]).find((e) => e.name === name)?.value;
}

// Every check here runs on kubectl kustomize's render; without it (or with an old kustomize that
// does not know our fields) they are skipped, loudly.
const KUSTOMIZE = kustomizeVersion();
const HAS_KUSTOMIZE = Number(/^v(\d+)/.exec(KUSTOMIZE ?? '')?.[1] ?? 0) >= KUSTOMIZE_MAJOR;
if (!HAS_KUSTOMIZE) {
  const found = KUSTOMIZE ? `its kustomize is ${KUSTOMIZE}` : 'kubectl is not on PATH';
  console.log(
    `SKIPPING the infra/k8s checks: they render with kubectl kustomize (kustomize ${KUSTOMIZE_MAJOR}+), and ${found}`,
  );
}
const describeRendered = HAS_KUSTOMIZE ? describe : describe.skip;

describeRendered('infra/k8s manifests (rendered by kubectl kustomize)', () => {
  let tree: { dir: string; cleanup: () => void };
  let base: K8sObject[];
  let cpu: K8sObject[];

  beforeAll(() => {
    tree = k8sTreeWithSecrets();
    base = renderKustomization(tree.dir);
    cpu = renderKustomization(path.join(tree.dir, 'overlays', 'cpu'));
  });
  afterAll(() => tree.cleanup());

  it('render without schema, reference or contract problems (GPU base and CPU overlay)', () => {
    expect(problems(base)).toEqual([]);
    expect(problems(cpu)).toEqual([]);
  });

  it('use only fields the Kubernetes API knows, with the right types (strict, like kubeconform -strict)', () => {
    expect(checkKnownFields([...base, ...cpu])).toEqual([]);
  });

  it('contain every piece the deployment needs, in namespace llm-forge', () => {
    const ids = base.map((o) => `${o.kind}/${o.metadata.name.replace(/-[a-z0-9]{10}$/, '')}`);
    expect(ids).toEqual(
      expect.arrayContaining([
        'Namespace/llm-forge',
        'ConfigMap/forge-config',
        'ConfigMap/redis-config',
        'Secret/forge-secrets',
        'Service/redis',
        'StatefulSet/redis',
        'Service/forge-coordinator',
        'Deployment/forge-coordinator',
        'Service/forge-worker',
        'StatefulSet/forge-worker',
        'PodDisruptionBudget/forge-worker',
        'PersistentVolumeClaim/forge-data',
        'Job/forge-prepare',
      ]),
    );
    for (const object of base.filter((o) => o.kind !== 'Namespace')) {
      expect(object.metadata.namespace).toBe('llm-forge');
    }
  });

  it('persist Redis with AOF and never evict (BullMQ needs noeviction)', () => {
    const config = find(
      base,
      'ConfigMap',
      base.find((o) => o.metadata.name.startsWith('redis-config'))!.metadata.name,
    );
    const conf = String((config.data as JsonObject)['redis.conf']);
    expect(conf).toMatch(/^appendonly yes$/m);
    expect(conf).toMatch(/^maxmemory-policy noeviction$/m);
    expect(conf).toMatch(/^dir \/data$/m);
    const redis = find(base, 'StatefulSet', 'redis');
    const c = container(redis, 'redis');
    expect(c.args).toEqual(['/etc/redis/redis.conf', '--requirepass', '$(REDIS_PASSWORD)']);
    expect((c.volumeMounts as JsonObject[]).map((m) => m.mountPath)).toEqual(['/data', '/etc/redis']);
    const claims = (redis.spec as JsonObject).volumeClaimTemplates as JsonObject[];
    expect((claims[0].metadata as JsonObject).name).toBe('data');
  });

  it('give each GPU worker one GPU and the tensorflow backend; the CPU overlay none, and native', () => {
    const gpuWorker = container(find(base, 'StatefulSet', 'forge-worker'), 'worker');
    expect(gpuWorker.image).toBe('llm-forge/worker-gpu:0.1.0');
    expect((gpuWorker.resources as JsonObject).limits).toMatchObject({ 'nvidia.com/gpu': 1 });
    expect(envValue(gpuWorker, 'FORGE_BACKEND')).toBe('tensorflow');
    expect(podSpec(find(base, 'StatefulSet', 'forge-worker')).tolerations).toEqual([
      { key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' },
    ]);

    const cpuSet = find(cpu, 'StatefulSet', 'forge-worker');
    const cpuWorker = container(cpuSet, 'worker');
    expect(cpuWorker.image).toBe('llm-forge/worker-cpu:0.1.0');
    expect(JSON.stringify(cpuSet)).not.toContain('nvidia.com/gpu');
    expect(envValue(cpuWorker, 'FORGE_BACKEND')).toBe('native');
    const requests = (cpuWorker.resources as JsonObject).requests as JsonObject;
    expect(envValue(cpuWorker, 'FORGE_NUM_THREADS')).toBe(requests.cpu);
    expect(container(find(cpu, 'Job', 'forge-prepare'), 'prepare').image).toBe('llm-forge/worker-cpu:0.1.0');
    // Everything but the workers and the prepare Job is the same in both.
    const unchanged = (objects: K8sObject[]) =>
      objects.filter(
        (o) =>
          !['forge-worker', 'forge-prepare'].includes(o.metadata.name) ||
          o.kind === 'Service' ||
          o.kind === 'PodDisruptionBudget',
      );
    expect(unchanged(cpu)).toEqual(unchanged(base));
  });

  it('set only variables the apps read (helpers used in $(VAR) references aside)', () => {
    for (const objects of [base, cpu]) {
      for (const object of objects.filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet')) {
        for (const c of podSpec(object).containers as JsonObject[]) {
          const app = appOfImage(String(c.image));
          if (!app || c.command) continue;
          const env = (c.env as JsonObject[]) ?? [];
          const referenced = new Set(
            env.flatMap((e) => [...String(e.value ?? '').matchAll(/\$\((\w+)\)/g)].map((m) => m[1])),
          );
          const names = env.map((e) => String(e.name)).filter((n) => !referenced.has(n));
          expect([object.metadata.name, unreadVariables(names, appSourceRoots(REPO_ROOT, app.role))]).toEqual(
            [object.metadata.name, []],
          );
        }
      }
    }
  });

  it('generate the secrets from base/secrets.env and reference them by their hashed name', () => {
    const secret = base.find((o) => o.kind === 'Secret')!;
    expect(secret.metadata.name).toMatch(/^forge-secrets-[a-z0-9]{10}$/);
    expect(Object.keys(secret.data as JsonObject).sort()).toEqual([
      'FORGE_API_TOKEN',
      'FORGE_CLUSTER_SECRET',
      'REDIS_PASSWORD',
    ]);
    const refs = JSON.stringify(base).match(/"name":"forge-secrets[^"]*"/g) ?? [];
    expect(refs.length).toBeGreaterThan(5);
    expect(new Set(refs)).toEqual(new Set([`"name":"${secret.metadata.name}"`]));
  });

  it('fail, naming base/secrets.env, when it was not created', () => {
    const bare = k8sTreeWithSecrets();
    try {
      fs.rmSync(path.join(bare.dir, 'base', 'secrets.env'));
      expect(() => renderKustomization(bare.dir)).toThrow(/kubectl kustomize .*secrets\.env.*no such file/s);
    } finally {
      bare.cleanup();
    }
  });
});

describeRendered('the validators catch broken manifests', () => {
  let tree: { dir: string; cleanup: () => void };
  let good: K8sObject[];
  beforeAll(() => {
    tree = k8sTreeWithSecrets();
    good = renderKustomization(tree.dir);
  });
  afterAll(() => tree.cleanup());

  /** Problems of a copy of the good render changed by `mutate`. */
  function problemsAfter(mutate: (objects: K8sObject[]) => void): string[] {
    const objects = structuredClone(good);
    mutate(objects);
    return problems(objects);
  }

  it('a misspelt field and a wrong type, which the API server would drop or refuse', () => {
    const objects = structuredClone(good);
    const coordinator = container(find(objects, 'Deployment', 'forge-coordinator'), 'coordinator');
    coordinator.readinesProbe = coordinator.readinessProbe;
    (find(objects, 'Service', 'redis').spec as JsonObject).publishNotReady = true;
    (find(objects, 'PodDisruptionBudget', 'forge-worker').spec as JsonObject).maxUnavailable = true;
    const found = checkKnownFields(objects);
    expect(found).toEqual([
      "Service/llm-forge/redis: unknown field 'publishNotReady' (not in IServiceSpec)",
      "Deployment/llm-forge/forge-coordinator: unknown field 'readinesProbe' (not in IContainer)",
      "PodDisruptionBudget/llm-forge/forge-worker: Type 'true' is not assignable to type 'IIntOrString | undefined'.",
    ]);
  });

  it('a schema violation', () => {
    const found = problemsAfter((o) => {
      (find(o, 'Deployment', 'forge-coordinator').spec as JsonObject).replicas = 'one';
    });
    expect(found).toContain('Deployment/llm-forge/forge-coordinator: /spec/replicas must be integer');
  });

  it('a Service port that targets no container port', () => {
    const found = problemsAfter((o) => {
      ((find(o, 'Service', 'forge-coordinator').spec as JsonObject).ports as JsonObject[])[1].targetPort =
        'rpc';
    });
    expect(found).toContain(
      'Service/llm-forge/forge-coordinator: port grpc targets rpc, which Deployment/llm-forge/forge-coordinator does not expose',
    );
    expect(found.some((p) => p.includes('FORGE_COORDINATOR_URL forge-coordinator:50051'))).toBe(true);
  });

  it('a missing Secret and a missing claim', () => {
    const found = problemsAfter((o) => {
      o.splice(
        o.findIndex((x) => x.kind === 'Secret'),
        1,
      );
      o.splice(
        o.findIndex((x) => x.kind === 'PersistentVolumeClaim'),
        1,
      );
    });
    expect(
      found.filter((p) => /Secret forge-secrets-\w+ does not exist/.test(p)).length,
    ).toBeGreaterThanOrEqual(6);
    expect(found).toContain(
      'Deployment/llm-forge/forge-coordinator: volume data: PersistentVolumeClaim forge-data does not exist in namespace llm-forge',
    );
  });

  it('a REDIS_URL to nowhere and a worker on another Redis prefix', () => {
    const found = problemsAfter((o) => {
      const worker = container(find(o, 'StatefulSet', 'forge-worker'), 'worker');
      (worker.env as JsonObject[]).find((e) => e.name === 'REDIS_URL')!.value =
        'redis://:$(REDIS_PASSWORD)@cache:6379';
      (worker.env as JsonObject[]).push({ name: 'FORGE_REDIS_PREFIX', value: 'other:' });
    });
    expect(found).toContain(
      'StatefulSet/llm-forge/forge-worker container worker: REDIS_URL redis://***@cache:6379: no Service cache',
    );
    expect(found.join('\n')).not.toMatch(/redis:\/\/:[0-9a-f]/); // the password is never printed
    expect(found).toContain(
      'coordinator and workers disagree on FORGE_REDIS_PREFIX: they would not see each other',
    );
  });

  it('a collective port that does not match FORGE_COLLECTIVE_PORT, and a variable used before it is defined', () => {
    const found = problemsAfter((o) => {
      const worker = container(find(o, 'StatefulSet', 'forge-worker'), 'worker');
      const env = worker.env as JsonObject[];
      env.find((e) => e.name === 'FORGE_COLLECTIVE_PORT')!.value = '6000';
      env.unshift(
        env.splice(
          env.findIndex((e) => e.name === 'REDIS_URL'),
          1,
        )[0],
      );
    });
    expect(found).toContain(
      'StatefulSet/llm-forge/forge-worker container worker: worker listens on 6000 (FORGE_COLLECTIVE_PORT) but declares no port collective=6000',
    );
    expect(found).toContain(
      'StatefulSet/llm-forge/forge-worker container worker env REDIS_URL: $(REDIS_PASSWORD) is not defined before it',
    );
  });

  it('a ReadWriteOnce data volume, a worker advertising an address peers cannot resolve, an unpinned image', () => {
    const found = problemsAfter((o) => {
      (find(o, 'PersistentVolumeClaim', 'forge-data').spec as JsonObject).accessModes = ['ReadWriteOnce'];
      const worker = container(find(o, 'StatefulSet', 'forge-worker'), 'worker');
      (worker.env as JsonObject[]).find((e) => e.name === 'FORGE_ADVERTISE_HOST')!.value = 'localhost';
      container(find(o, 'Deployment', 'forge-coordinator'), 'coordinator').image =
        'llm-forge/coordinator:latest';
    });
    expect(found).toContain(
      'PersistentVolumeClaim forge-data must be ReadWriteMany: pods on several nodes mount it',
    );
    expect(
      found.some((p) => p.includes("FORGE_ADVERTISE_HOST localhost is not the pod's stable DNS name")),
    ).toBe(true);
    expect(found).toContain(
      'Deployment/llm-forge/forge-coordinator container coordinator: image llm-forge/coordinator:latest needs a pinned tag or digest',
    );
  });

  it('an API token shorter than the coordinator accepts', () => {
    const short = k8sTreeWithSecrets({
      FORGE_API_TOKEN: 'short',
      FORGE_CLUSTER_SECRET: 'x'.repeat(32),
      REDIS_PASSWORD: 'abc123',
    });
    try {
      expect(problems(renderKustomization(short.dir))).toContain(
        'Deployment/llm-forge/forge-coordinator container coordinator: FORGE_API_TOKEN is shorter than 16 characters',
      );
    } finally {
      short.cleanup();
    }
  });
});

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { hasCommand, kubectlKustomize, normalizeRender } from '../test-utils/kubectl';
import { JsonObject } from '../yaml-files';
import { buildKustomization } from './build';
import { nameHash } from './generators';
import { K8sObject } from './k8s-object';
import { parseImage } from './transformers';

/** Writes `files` (path → content) under a fresh temporary directory and returns it. */
function tree(files: Record<string, string>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'forge-kustomize-'));
  for (const [file, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), content);
  }
  return root;
}

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata: {name: app}
spec:
  selector: {matchLabels: {app: a}}
  template:
    metadata: {labels: {app: a}}
    spec:
      imagePullSecrets: [{name: pull}]
      containers:
        - name: main
          image: registry.local:5000/team/app
          envFrom: [{configMapRef: {name: settings}}]
          env:
            - name: TOKEN
              valueFrom: {secretKeyRef: {name: creds, key: token}}
      volumes:
        - name: conf
          configMap: {name: settings}
        - name: keys
          secret: {secretName: creds}
`;

const FIXTURE = {
  'base/kustomization.yaml': `resources: [deployment.yaml, ns.yaml]
namespace: team
configMapGenerator:
  - name: settings
    literals: [MODE=fast]
    files: [app.conf, custom=extra.txt]
secretGenerator:
  - name: creds
    envs: [creds.env]
  - name: pull
    type: kubernetes.io/dockerconfigjson
    literals: ['.dockerconfigjson={}']
images:
  - name: registry.local:5000/team/app
    newTag: '1.2'
`,
  'base/deployment.yaml': DEPLOYMENT,
  'base/ns.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata: {name: team}\n',
  'base/app.conf': 'x = 1\n',
  'base/extra.txt': 'extra',
  'base/creds.env': '# comment\n\ntoken=s3cret\n',
  'overlay/kustomization.yaml': `resources: [../base]
images:
  - name: registry.local:5000/team/app
    newName: other/app
    digest: sha256:abc
patches:
  - path: patch.yaml
`,
  'overlay/patch.yaml': `apiVersion: apps/v1
kind: Deployment
metadata: {name: app}
spec:
  replicas: 3
`,
};

describe('buildKustomization', () => {
  let root: string;
  let base: K8sObject[];
  beforeAll(() => {
    root = tree(FIXTURE);
    base = buildKustomization(path.join(root, 'base'));
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  const get = (objects: K8sObject[], kind: string) => objects.filter((o) => o.kind === kind);

  it('generates ConfigMaps and Secrets with hashed names and points every reference at them', () => {
    const [settings] = get(base, 'ConfigMap');
    expect(settings.metadata.name).toMatch(/^settings-[a-z0-9]{10}$/);
    expect(settings.data).toEqual({ MODE: 'fast', 'app.conf': 'x = 1\n', custom: 'extra' });
    const secrets = get(base, 'Secret');
    const creds = secrets.find((s) => s.metadata.name.startsWith('creds-'))!;
    expect(creds.data).toEqual({ token: Buffer.from('s3cret').toString('base64') });
    expect(creds.type).toBe('Opaque');
    const pull = secrets.find((s) => s.metadata.name.startsWith('pull-'))!;
    expect(pull.type).toBe('kubernetes.io/dockerconfigjson');

    const pod = ((get(base, 'Deployment')[0].spec as JsonObject).template as JsonObject).spec as JsonObject;
    const container = (pod.containers as JsonObject[])[0];
    expect(JSON.stringify(container.envFrom)).toContain(settings.metadata.name);
    expect(JSON.stringify(container.env)).toContain(creds.metadata.name);
    expect(pod.volumes).toEqual([
      { name: 'conf', configMap: { name: settings.metadata.name } },
      { name: 'keys', secret: { secretName: creds.metadata.name } },
    ]);
    expect(pod.imagePullSecrets).toEqual([{ name: pull.metadata.name }]);
  });

  it('derives the name from the content: same data, same name; changed data, new name', () => {
    const object: K8sObject = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'c' },
      data: { A: '1' },
    };
    expect(nameHash(object)).toBe(nameHash(structuredClone(object)));
    expect(nameHash({ ...object, data: { A: '2' } })).not.toBe(nameHash(object));
    expect(nameHash({ ...object, kind: 'Secret', type: 'Opaque' })).not.toBe(nameHash(object));
    expect(nameHash(object)).toMatch(/^[b-df-z2-9ghkmt]{10}$/);
  });

  it('sets the namespace on namespaced objects only, and rewrites matching images', () => {
    for (const o of base)
      expect([o.kind, o.metadata.namespace]).toEqual([o.kind, o.kind === 'Namespace' ? undefined : 'team']);
    expect(JSON.stringify(base)).toContain('"image":"registry.local:5000/team/app:1.2"');
  });

  it('applies an overlay: base objects, its images and strategic merge patches', () => {
    const overlay = buildKustomization(path.join(root, 'overlay'));
    const deployment = get(overlay, 'Deployment')[0];
    expect((deployment.spec as JsonObject).replicas).toBe(3);
    expect(JSON.stringify(deployment)).toContain('"image":"other/app@sha256:abc"');
    expect(overlay.map((o) => o.kind)).toEqual(['Namespace', 'ConfigMap', 'Secret', 'Secret', 'Deployment']);
  });

  (hasCommand('kubectl', ['version', '--client']) ? it : it.skip)(
    'agrees with kubectl kustomize on the fixture',
    () => {
      for (const dir of ['base', 'overlay']) {
        const ours = buildKustomization(path.join(root, dir));
        expect(normalizeRender(ours)).toEqual(normalizeRender(kubectlKustomize(path.join(root, dir))));
      }
    },
  );
});

describe('buildKustomization errors name the file and what to do', () => {
  const cases: [string, Record<string, string>, RegExp][] = [
    [
      'an unsupported field',
      { 'kustomization.yaml': 'namePrefix: x-\n' },
      /kustomization\.yaml: field 'namePrefix' is not supported by this renderer/,
    ],
    [
      'a missing resource',
      { 'kustomization.yaml': 'resources: [gone.yaml]\n' },
      /kustomization\.yaml: resource 'gone\.yaml' does not exist/,
    ],
    [
      'a missing env file',
      { 'kustomization.yaml': 'secretGenerator: [{name: s, envs: [s.env]}]\n' },
      /s\.env: missing \(needed by generator s\)/,
    ],
    [
      'a bad env line',
      { 'kustomization.yaml': 'secretGenerator: [{name: s, envs: [s.env]}]\n', 's.env': 'A=1\noops\n' },
      /s\.env:2: line is not KEY=VALUE/,
    ],
    [
      'a duplicate key',
      { 'kustomization.yaml': 'configMapGenerator: [{name: c, literals: [A=1, A=2]}]\n' },
      /generator c: key A is given twice/,
    ],
    [
      'a patch without target',
      {
        'kustomization.yaml': 'patches: [{path: p.yaml}]\n',
        'p.yaml': 'apiVersion: v1\nkind: Service\nmetadata: {name: nope}\n',
      },
      /p\.yaml: patch targets Service\/nope, which is not a resource/,
    ],
    [
      'an object defined twice',
      {
        'kustomization.yaml': 'resources: [a.yaml, a.yaml]\n',
        'a.yaml': 'apiVersion: v1\nkind: Service\nmetadata: {name: s}\n',
      },
      /Service\/s is defined twice/,
    ],
    [
      'a YAML syntax error',
      { 'kustomization.yaml': 'resources: [a\n  b: c\n' },
      /kustomization\.yaml(:\d+)?: YAML syntax error/,
    ],
    [
      'a document without a name',
      { 'kustomization.yaml': 'resources: [a.yaml]\n', 'a.yaml': 'apiVersion: v1\nkind: Service\n' },
      /a\.yaml: document 1 \(Service\) has no metadata\.name/,
    ],
  ];

  it.each(cases)('%s', (_, files, message) => {
    const root = tree(files);
    try {
      expect(() => buildKustomization(root)).toThrow(message);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('a directory resource needs its own kustomization, and cycles are refused', () => {
    const root = tree({ 'kustomization.yaml': 'resources: [sub]\n', 'sub/x.txt': '' });
    try {
      expect(() => buildKustomization(root)).toThrow(/resource 'sub' is a directory without a kustomization/);
      fs.writeFileSync(path.join(root, 'sub', 'kustomization.yaml'), 'resources: [..]\n');
      expect(() => buildKustomization(root)).toThrow(/kustomization cycle/);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('parseImage', () => {
  it('tells a registry port from a tag', () => {
    expect(parseImage('registry.local:5000/team/app')).toEqual({ name: 'registry.local:5000/team/app' });
    expect(parseImage('redis:7.4.2-bookworm')).toEqual({ name: 'redis', tag: '7.4.2-bookworm' });
    expect(parseImage('a/b:1@sha256:ff')).toEqual({ name: 'a/b', tag: '1', digest: 'sha256:ff' });
  });
});

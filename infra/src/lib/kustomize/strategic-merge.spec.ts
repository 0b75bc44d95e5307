import { JsonObject } from '../yaml-files';
import { PatchError, strategicMerge } from './strategic-merge';

describe('strategicMerge', () => {
  // The case below was run through `kubectl kustomize` (v5.5): its output is the expectation.
  const deployment: JsonObject = {
    spec: {
      template: {
        spec: {
          containers: [
            {
              name: 'a',
              image: 'x',
              env: [
                { name: 'A', value: '1' },
                { name: 'B', value: '2' },
                { name: 'C', value: '3' },
              ],
              ports: [
                { containerPort: 1, name: 'p1' },
                { containerPort: 2, name: 'p2' },
              ],
            },
            { name: 'b', image: 'y' },
          ],
          volumes: [
            { name: 'v1', emptyDir: {} },
            { name: 'v2', emptyDir: {} },
          ],
        },
      },
    },
  };

  it('merges lists by key with the patch items first, as kustomize orders them', () => {
    const patch: JsonObject = {
      spec: {
        template: {
          spec: {
            containers: [
              { name: 'b', image: 'z' },
              {
                name: 'a',
                env: [
                  { name: 'B', value: '20' },
                  { name: 'D', value: '4' },
                  { name: 'A', $patch: 'delete' },
                ],
                ports: [{ containerPort: 2, name: 'p2b' }],
              },
            ],
            volumes: [{ name: 'v3', emptyDir: {} }],
          },
        },
      },
    };
    expect(strategicMerge(deployment, patch)).toEqual({
      spec: {
        template: {
          spec: {
            containers: [
              { name: 'b', image: 'z' },
              {
                name: 'a',
                image: 'x',
                env: [
                  { name: 'B', value: '20' },
                  { name: 'D', value: '4' },
                  { name: 'C', value: '3' },
                ],
                ports: [
                  { containerPort: 2, name: 'p2b' },
                  { containerPort: 1, name: 'p1' },
                ],
              },
            ],
            volumes: [
              { name: 'v3', emptyDir: {} },
              { name: 'v1', emptyDir: {} },
              { name: 'v2', emptyDir: {} },
            ],
          },
        },
      },
    });
  });

  it('deletes keys set to null, replaces other lists and scalars, and leaves its inputs alone', () => {
    const original: JsonObject = { a: { b: 1, c: 2 }, tolerations: [{ key: 'x' }], args: ['1', '2'] };
    const before = structuredClone(original);
    expect(strategicMerge(original, { a: { b: null, d: 3 }, tolerations: null, args: ['3'] })).toEqual({
      a: { c: 2, d: 3 },
      args: ['3'],
    });
    expect(original).toEqual(before);
  });

  it('honours $patch: replace and $patch: delete on maps', () => {
    const original: JsonObject = { keep: { a: 1, b: 2 }, drop: { a: 1 } };
    expect(
      strategicMerge(original, { keep: { $patch: 'replace', c: 3 }, drop: { $patch: 'delete' } }),
    ).toEqual({
      keep: { c: 3 },
    });
  });

  it('rejects a list item without its merge key and an unknown directive, saying where', () => {
    expect(() =>
      strategicMerge(deployment, { spec: { template: { spec: { containers: [{ image: 'q' }] } } } }),
    ).toThrow(
      new PatchError('spec.template.spec.containers[0]', 'list item has none of the merge keys name'),
    );
    expect(() => strategicMerge({ a: {} }, { a: { $patch: 'merge' } })).toThrow(
      'patch at a: unsupported $patch: "merge"',
    );
  });
});

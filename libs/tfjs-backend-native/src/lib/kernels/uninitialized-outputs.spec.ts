/**
 * Kernel outputs on the cpu-like backends are allocated without zero-filling (kernel-io.ts). This
 * runs every kernel spec again with each such output over poisoned memory — every byte 0xff, a NaN
 * in float32 and -1 in int32 — so a kernel that leaves any element of an output unwritten passes
 * garbage on and fails its comparison.
 */
beforeAll(() => {
  jest.spyOn(Buffer, 'allocUnsafeSlow').mockImplementation((size: number) => Buffer.alloc(size, 0xff));
});

afterAll(() => {
  jest.restoreAllMocks();
});

it('allocates kernel outputs over poisoned memory in this file', () => {
  expect(Buffer.allocUnsafeSlow(4).readUInt32LE(0)).toBe(0xffffffff);
});

// Imported for their describe blocks: they register here, under the hooks above.
import './native-kernels.spec';
import './fused-kernels.spec';
import './segment-sum.spec';
import './dropout.spec';

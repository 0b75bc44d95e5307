/**
 * Kernel outputs on the cpu-like backends are allocated without zero-filling (kernel-io.ts). This
 * runs every kernel spec again with each such output over poisoned memory — every byte 0xff, a NaN
 * in float32 and -1 in int32 — so a kernel that leaves any element of an output unwritten passes
 * garbage on and fails its comparison. The native backend's memory pool is off here
 * (FORGE_TENSOR_POOL_MB=0, read when the backend starts), so every output is new, poisoned memory
 * rather than a reused buffer that may hold the right values from an earlier test.
 */
const poolLimit = process.env.FORGE_TENSOR_POOL_MB;
process.env.FORGE_TENSOR_POOL_MB = '0';

beforeAll(() => {
  jest.spyOn(Buffer, 'allocUnsafeSlow').mockImplementation((size: number) => Buffer.alloc(size, 0xff));
});

afterAll(() => {
  jest.restoreAllMocks();
  if (poolLimit === undefined) delete process.env.FORGE_TENSOR_POOL_MB;
  else process.env.FORGE_TENSOR_POOL_MB = poolLimit;
});

it('allocates kernel outputs over poisoned memory in this file', () => {
  expect(Buffer.allocUnsafeSlow(4).readUInt32LE(0)).toBe(0xffffffff);
  expect(process.env.FORGE_TENSOR_POOL_MB).toBe('0');
});

// Imported for their describe blocks: they register here, under the hooks above.
import './native-kernels.spec';
import './fused-kernels.spec';
import './segment-sum.spec';
import './dropout.spec';

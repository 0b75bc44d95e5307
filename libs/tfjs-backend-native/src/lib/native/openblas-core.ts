import * as fs from 'fs';

/**
 * The OpenBLAS kernel family to force for this CPU, or undefined to let OpenBLAS decide.
 *
 * OpenBLAS built with DYNAMIC_ARCH (Debian's 0.3.21) does not recognise recent Xeons and falls
 * back to its "Prescott" SSE3 kernels, 8-10x slower than its AVX-512 ones. Unless the user set
 * OPENBLAS_CORETYPE, pick from the CPU flags: AVX-512 (F, CD, BW, DQ, VL) -> SkylakeX, AVX2 + FMA
 * -> Haswell. Linux x86-64 only; elsewhere OpenBLAS's own detection stands.
 */
export function openBlasCoreType(cpuinfoPath = '/proc/cpuinfo'): string | undefined {
  if (process.platform !== 'linux' || process.arch !== 'x64') return undefined;
  let cpuinfo: string;
  try {
    cpuinfo = fs.readFileSync(cpuinfoPath, 'utf8');
  } catch {
    return undefined;
  }
  const line = cpuinfo.split('\n').find((l) => l.startsWith('flags'));
  if (!line) return undefined;
  const flags = new Set(
    line
      .slice(line.indexOf(':') + 1)
      .trim()
      .split(/\s+/),
  );
  const has = (...names: string[]) => names.every((n) => flags.has(n));
  if (has('avx512f', 'avx512cd', 'avx512bw', 'avx512dq', 'avx512vl')) return 'SkylakeX';
  if (has('avx2', 'fma')) return 'Haswell';
  return undefined;
}

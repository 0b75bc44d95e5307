import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { openBlasCoreType } from './openblas-core';
import { resolveThreadCount } from './thread-count';

describe('resolveThreadCount', () => {
  it('reads FORGE_NUM_THREADS, defaulting to every core', () => {
    expect(resolveThreadCount({ FORGE_NUM_THREADS: '3' })).toBe(3);
    expect(resolveThreadCount({})).toBe(os.availableParallelism());
    expect(resolveThreadCount({ FORGE_NUM_THREADS: ' ' })).toBe(os.availableParallelism());
  });

  it.each(['0', '-2', '1.5', 'all'])('rejects FORGE_NUM_THREADS=%s, naming it', (value) => {
    expect(() => resolveThreadCount({ FORGE_NUM_THREADS: value })).toThrow(
      /FORGE_NUM_THREADS must be a positive integer/,
    );
  });
});

(process.platform === 'linux' && process.arch === 'x64' ? describe : describe.skip)(
  'openBlasCoreType',
  () => {
    const cpuinfo = (flags: string) => {
      const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'forge-cpuinfo-')), 'cpuinfo');
      fs.writeFileSync(file, `processor\t: 0\nflags\t\t: ${flags}\n`);
      return file;
    };

    it('picks SkylakeX with AVX-512, Haswell with AVX2 + FMA, nothing otherwise', () => {
      expect(openBlasCoreType(cpuinfo('sse2 avx2 fma avx512f avx512cd avx512bw avx512dq avx512vl'))).toBe(
        'SkylakeX',
      );
      expect(openBlasCoreType(cpuinfo('sse2 avx avx2 fma'))).toBe('Haswell');
      expect(openBlasCoreType(cpuinfo('sse2 sse4_2 avx'))).toBeUndefined();
      expect(openBlasCoreType('/nonexistent/cpuinfo')).toBeUndefined();
    });
  },
);

/** Helpers of the real-browser tests: finding Debian's chromium, launching it, saving screenshots. */
import { existsSync, mkdirSync } from 'fs';
import * as path from 'path';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Where the browser tests leave their screenshots (gitignored). */
export const OUTPUT_DIR = path.resolve(__dirname, '../../test-output');

/** Chromium binaries tried in order (CHROMIUM_PATH first). */
const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

/** The chromium binary to drive, or undefined when none is installed. */
export function findChromium(): string | undefined {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv) return existsSync(fromEnv) ? fromEnv : undefined;
  return CANDIDATES.find((c) => existsSync(c));
}

/** Launches chromium headless (`--no-sandbox`: CI runs as root, where the sandbox cannot start). */
export function launchChromium(executablePath: string): Promise<Browser> {
  return chromium.launch({
    executablePath,
    headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  });
}

/** Saves a full-page screenshot as test-output/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(OUTPUT_DIR, { recursive: true });
  await page.screenshot({ path: path.join(OUTPUT_DIR, `${name}.png`), fullPage: true });
}

/**
 * Pixels close to colour `rgb` (within an anti-aliasing tolerance) inside the plot area of the
 * LineChart in `selector` (its `data-area`): what a series of that colour painted, legend aside.
 */
export function pixelsOfColour(
  page: Page,
  selector: string,
  rgb: readonly [number, number, number],
): Promise<number> {
  return page.$eval(
    selector,
    (box, [r, g, b]) => {
      const canvas = box.querySelector('canvas');
      const area = box.querySelector('[data-area]')?.getAttribute('data-area');
      if (!canvas || !area) throw new Error('not a LineChart: no canvas or data-area');
      const [left, top, right, bottom] = area.split(',').map(Number);
      const data = canvas.getContext('2d')?.getImageData(left, top, right - left, bottom - top).data;
      let n = 0;
      if (data)
        for (let i = 0; i < data.length; i += 4)
          if (
            data[i + 3] > 200 &&
            Math.abs(data[i] - r) + Math.abs(data[i + 1] - g) + Math.abs(data[i + 2] - b) < 60
          )
            n++;
      return n;
    },
    rgb,
  );
}

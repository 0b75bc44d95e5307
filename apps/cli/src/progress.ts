/** The training progress bar (loss, tokens/s, ETA) with log lines printed above it. */
import { MultiBar, Presets, type SingleBar } from 'cli-progress';

/**
 * Progress of a training run: a bar on a terminal; otherwise (JSON mode, or output piped to a file)
 * plain lines, about fifty per run, on stderr in JSON mode and stdout otherwise.
 */
export class TrainProgress {
  private readonly bars?: MultiBar;
  private readonly bar?: SingleBar;
  private readonly lineEvery: number;

  constructor(
    total: number,
    done: number,
    private readonly json: boolean,
  ) {
    this.lineEvery = Math.max(1, Math.floor(total / 50));
    if (json || !process.stdout.isTTY) return;
    this.bars = new MultiBar(
      {
        format: 'train |{bar}| {value}/{total} steps | loss {loss} | {tps} tok/s | ETA {eta_formatted}',
        hideCursor: true,
      },
      Presets.shades_classic,
    );
    this.bar = this.bars.create(total, done, { loss: '-', tps: '-' });
  }

  /** Advances to `stepsDone` with the latest loss and throughput (when known). */
  step(stepsDone: number, total: number, loss: number, tokensPerSecond?: number): void {
    const tps = tokensPerSecond === undefined ? '-' : Math.round(tokensPerSecond);
    this.bar?.update(stepsDone, { loss: loss.toFixed(3), tps });
    if (!this.bar && (stepsDone % this.lineEvery === 0 || stepsDone === total)) {
      const rate = tokensPerSecond === undefined ? '' : ` ${tps} tok/s`;
      this.log(`step ${stepsDone}/${total} loss ${loss.toFixed(4)}${rate}`);
    }
  }

  /** Prints a line above the bar (stderr in JSON mode, keeping stdout machine-readable). */
  log(line: string): void {
    if (this.bars) this.bars.log(`${line}\n`);
    else (this.json ? process.stderr : process.stdout).write(`${line}\n`);
  }

  /** Prints pending log lines and removes the bar. */
  stop(): void {
    this.bars?.update(); // renders, flushing lines logged since the last timer tick
    this.bars?.stop();
  }
}

/**
 * The first Ctrl-C of a training command: logs `message` and aborts `signal`, so training stops
 * after the current step and what was trained is still saved; a second Ctrl-C quits at once.
 */
export function stopOnInterrupt(
  progress: TrainProgress,
  message: string,
): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onInterrupt = () => {
    progress.log(`interrupted: ${message} (Ctrl-C again to quit now)`);
    controller.abort();
    process.removeListener('SIGINT', onInterrupt);
    process.once('SIGINT', () => process.exit(130));
  };
  process.on('SIGINT', onInterrupt);
  return { signal: controller.signal, dispose: () => process.removeListener('SIGINT', onInterrupt) };
}

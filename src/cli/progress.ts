/**
 * Progress of a run: a bar on stderr when it is a terminal (tiles done / total, rate, ETA), else a
 * `run.progress` log line at most every two seconds, so a CI log shows the run moving.
 */
import { createRequire } from 'node:module';
import type { Logger } from '../shared/types.js';

/** What the runner calls. */
export interface Progress {
  start(total: number): void;
  tick(event: { error?: unknown }): void;
  stop(): void;
}

/** Milliseconds between `run.progress` log lines. */
const LOG_EVERY_MS = 2000;

/** @param options.enabled - false for `--no-progress`: no bar (the log lines stay, at info). */
export function createProgress(options: { enabled: boolean; logger: Logger }): Progress {
  let total = 0;
  let done = 0;
  let failed = 0;
  let lastLog = 0;
  let started = 0;
  let bar:
    | {
        start(total: number, value: number, payload?: object): void;
        update(value: number, payload?: object): void;
        stop(): void;
      }
    | undefined;
  return {
    start(count) {
      total = count;
      started = Date.now();
      if (options.enabled && process.stderr.isTTY === true) {
        // Loaded only for a terminal: services and CI never pay for it.
        const { SingleBar, Presets } = createRequire(import.meta.url)('cli-progress') as typeof import('cli-progress');
        bar = new SingleBar(
          {
            stream: process.stderr,
            format: ' {bar} {value}/{total} tiles | {failed} failed | {rate}/s | ETA {eta_formatted}',
            hideCursor: true,
            clearOnComplete: false,
          },
          Presets.shades_classic,
        );
        bar.start(total, 0, { failed: 0, rate: '0.0' });
      }
    },
    tick(event) {
      done++;
      if (event.error !== undefined) failed++;
      const elapsed = (Date.now() - started) / 1000;
      const rate = elapsed > 0 ? (done / elapsed).toFixed(1) : '0.0';
      if (bar !== undefined) {
        bar.update(done, { failed, rate });
        return;
      }
      const now = Date.now();
      if (now - lastLog >= LOG_EVERY_MS || done === total) {
        lastLog = now;
        options.logger.info(
          { event: 'run.progress', done, total, failed, tilesPerSecond: Number(rate) },
          'tiles processed',
        );
      }
    },
    stop() {
      bar?.stop();
      bar = undefined;
    },
  };
}

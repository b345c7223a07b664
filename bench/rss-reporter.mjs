/**
 * Preload for benchmark children: `node --import <this file> …`.
 *
 * On process exit (normal end or `process.exit()`), it writes the child's own resource usage as
 * one JSON line to the file named by BENCH_RSS_FILE:
 *   { "maxRssKiB": …, "userCpuMs": …, "systemCpuMs": … }
 * `maxRSS` is getrusage(RUSAGE_SELF).ru_maxrss: the peak resident set size in KiB on Linux.
 *
 * It imports only `node:fs` (already loaded by Node's bootstrap) and registers one listener, so it
 * does not change the measured work beyond a few hundred microseconds; every variant (floor,
 * eager, cached) carries it alike.
 */
import { writeFileSync } from 'node:fs';

const file = process.env.BENCH_RSS_FILE;
if (file) {
  process.on('exit', () => {
    const usage = process.resourceUsage();
    try {
      writeFileSync(
        file,
        `${JSON.stringify({ maxRssKiB: usage.maxRSS, userCpuMs: usage.userCPUTime / 1000, systemCpuMs: usage.systemCPUTime / 1000 })}\n`,
      );
    } catch {
      // The parent treats a missing report as a failed run; never change the child's exit code.
    }
  });
}

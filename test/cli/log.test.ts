import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/cli/log.js';
import { silentLogger } from '../../src/shared/types.js';

function capture(pretty: boolean, level: 'info' | 'warn' = 'info') {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const logger = createLogger({ pretty, level, destination: stream });
  return { logger, text: () => text };
}

describe('createLogger', () => {
  it('writes one JSON object per line by default', () => {
    const { logger, text } = capture(false);
    logger.info({ event: 'handler.registered', name: 'x' }, 'registered handler');
    const line = JSON.parse(text().trim()) as Record<string, unknown>;
    expect(line).toMatchObject({ level: 30, event: 'handler.registered', name: 'x', msg: 'registered handler' });
    expect(line).not.toHaveProperty('pid');
  });

  it('writes readable lines when pretty', () => {
    const { logger, text } = capture(true);
    logger.warn({ event: 'plugin.rejected', code: 'IMPORT_FAILED' }, 'rejected plugin');
    expect(text()).toMatch(/WARN.*rejected plugin/);
    expect(text()).toContain('IMPORT_FAILED');
    expect(() => JSON.parse(text())).toThrow();
  });

  it('honours the level', () => {
    const { logger, text } = capture(false, 'warn');
    logger.info({ event: 'x' }, 'hidden');
    logger.warn({ event: 'y' }, 'shown');
    expect(text()).not.toContain('hidden');
    expect(text()).toContain('shown');
  });

  it('redacts deps and env objects if a caller passes them', () => {
    const { logger, text } = capture(false);
    logger.info(
      {
        event: 'x',
        deps: { token: 'SECRET-DEP' },
        env: { AWS_SECRET: 'SECRET-ENV' },
        nested: { deps: { k: 'SECRET-NESTED' } },
      },
      'm',
    );
    expect(text()).not.toMatch(/SECRET-/);
    expect(text()).toContain('[redacted]');
  });

  it('has a silent logger the library uses by default', () => {
    expect(() => silentLogger.error({}, 'nothing')).not.toThrow();
  });
});

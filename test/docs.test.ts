/**
 * The documentation's library example compiles, as written, in a strict `nodenext` project that
 * uses the package by name (first-hour trip-up: handlers came back typed `unknown`).
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { consumerPackageJson, linkModules } from './helpers/consumer.js';
import { ROOT, tempDir } from './helpers/index.js';

/** The first ```ts block of a markdown file. */
async function firstTypeScriptBlock(file: string): Promise<string> {
  const text = await readFile(path.join(ROOT, file), 'utf8');
  const block = /```ts\n([\s\S]*?)```/.exec(text)?.[1];
  if (block === undefined) throw new Error(`${file} has no ts block`);
  return block;
}

describe('docs/library-api.md', { timeout: 60_000 }, () => {
  it('its example type-checks under strict nodenext, with no type arguments', async () => {
    const dir = await tempDir();
    await consumerPackageJson(dir);
    await linkModules(dir, ['@types', 'typescript'], { self: true });
    const file = path.join(dir, 'example.ts');
    await writeFile(file, `${await firstTypeScriptBlock('docs/library-api.md')}\nexport {};\n`);
    const program = ts.createProgram([file], {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      types: ['node'],
      strict: true,
      noUncheckedIndexedAccess: true,
      exactOptionalPropertyTypes: true,
      verbatimModuleSyntax: true,
      skipLibCheck: true,
      noEmit: true,
    });
    const diagnostics = ts
      .getPreEmitDiagnostics(program)
      .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    expect(diagnostics).toEqual([]);
  });
});

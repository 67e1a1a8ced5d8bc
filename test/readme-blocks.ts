/** Code blocks of a README, found by the HTML comment right above them. */
import { readFileSync } from 'node:fs';

/** The fenced block right after `<!-- marker -->` (the comment line, then the fence). */
export function blockAfter(markdown: string, marker: string): string | undefined {
  const at = markdown.indexOf(`<!-- ${marker} -->\n`);
  if (at < 0) return undefined;
  const fence = /^```[a-z]*\n([\s\S]*?)^```$/m.exec(markdown.slice(at + marker.length + 9));
  return fence?.[1];
}

/** Every `<!-- app-file: PATH -->` block: PATH → its text. */
export function appFiles(markdown: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const match of markdown.matchAll(/<!-- app-file: (\S+) -->\n/g)) {
    const text = blockAfter(markdown, `app-file: ${match[1]}`);
    if (text !== undefined) files.set(match[1]!, text);
  }
  return files;
}

/**
 * A README's shell block with its tarball directory (`T=/path/to/lakebase-kit/tarballs`) set to
 * `tarballs`; nothing else changes.
 */
export function withTarballs(block: string, tarballs: string): string {
  const placeholder = 'T=/path/to/lakebase-kit/tarballs';
  if (!block.includes(placeholder)) throw new Error(`no "${placeholder}" line in:\n${block}`);
  return block.replace(placeholder, `T=${JSON.stringify(tarballs)}`);
}

export const readText = (file: string) => readFileSync(file, 'utf8');

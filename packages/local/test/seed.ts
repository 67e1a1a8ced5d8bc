/**
 * The official AppKit lakebase plugin guide ("the seed"), read from the installed
 * `@databricks/appkit`, so that tests run its commands and its SQL exactly as it prints them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const store = fileURLToPath(new URL('../../../node_modules/.pnpm', import.meta.url));

export function seedGuide(): string {
  const dir = readdirSync(store).find((name) => name.startsWith('@databricks+appkit@'));
  if (!dir) throw new Error(`@databricks/appkit is not installed under ${store}`);
  return readFileSync(
    path.join(store, dir, 'node_modules/@databricks/appkit/docs/plugins/lakebase.md'),
    'utf8',
  );
}

export interface SeedCommand {
  /** The positional arguments after `databricks postgres <verb>`. */
  args: string[];
  /** The `--json` body, as printed. */
  json: string;
}

/** Every `databricks postgres <verb> ... --json '...'` of the guide, in order. */
export function seedCommands(verb: 'create-role' | 'update-role'): SeedCommand[] {
  const continued = String.raw`\s*\\?\s*`;
  const pattern = new RegExp(
    `databricks postgres ${verb}((?:${continued}"[^"]*")*)${continued}--json '([^']*)'`,
    'g',
  );
  return [...seedGuide().matchAll(pattern)].map((match) => ({
    args: [...match[1]!.matchAll(/"([^"]*)"/g)].map((arg) => arg[1]!),
    json: match[2]!,
  }));
}

/** The "SQL script for fine-grained grants", with only its two placeholders filled in. */
export function seedGrantsScript(subject: string, schema: string): string {
  const block = /```sql\n(CREATE EXTENSION IF NOT EXISTS databricks_auth;[\s\S]*?)```/.exec(
    seedGuide(),
  )?.[1];
  if (!block) throw new Error('the seed has no fine-grained grants script');
  return block
    .replace("subject TEXT := 'your-subject';", `subject TEXT := '${subject}';`)
    .replace("schema TEXT := 'your_schema';", `schema TEXT := '${schema}';`);
}

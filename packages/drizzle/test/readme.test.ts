import { readFileSync } from 'node:fs';
import type { LocalLakebase } from '@lakebase-kit/local';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALICE, BOB, startWorld, stopWorld } from './world.js';

const read = (path: string) => readFileSync(new URL(path, import.meta.url), 'utf8');

let lb: LocalLakebase;

// The example reads its configuration from the environment, as a deployed app does.
beforeAll(async () => {
  lb = await startWorld();
});

afterAll(async () => {
  await stopWorld(lb);
});

describe('README', () => {
  it('embeds examples/readme.ts verbatim', () => {
    const readme = read('../README.md');
    const example = read('../examples/readme.ts');
    expect(readme).toContain(`\`\`\`ts\n${example}\`\`\``);
  });

  it('the example runs as written against the local Lakebase', async () => {
    const example = await import('../examples/readme.js');
    try {
      const asRequest = async (email: string) =>
        new Request('http://app.local/notes', { headers: await lb.userHeaders(email) });

      const note = await example.addNote(await asRequest(ALICE), 'hello from alice');
      expect(note).toMatchObject({ body: 'hello from alice', owner: ALICE });
      await example.addNote(await asRequest(BOB), 'hello from bob');

      const aliceNotes = await example.myNotes(await asRequest(ALICE));
      expect(aliceNotes.map((n) => [n.owner, n.body])).toEqual([[ALICE, 'hello from alice']]);
      const bobNotes = await example.myNotes(await asRequest(BOB));
      expect(bobNotes.map((n) => [n.owner, n.body])).toEqual([[BOB, 'hello from bob']]);

      expect(await example.countAllNotes()).toBe(2);
    } finally {
      await example.shutdown();
    }
    expect(example.db.$lakebase.closed).toBe(true);
  });
});

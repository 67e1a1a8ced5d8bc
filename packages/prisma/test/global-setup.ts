/** Vitest global setup: the test PrismaClient is generated before any test file loads it. */
// @ts-expect-error a plain .mjs script (also run by `typecheck`), no declarations
import { generateTestClient } from './generate-client.mjs';

export default function setup(): void {
  generateTestClient();
}

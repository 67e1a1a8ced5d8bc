/** The Prisma client is generated, not committed: make sure it exists before the suites run. */
import { ensurePrismaClient } from '../src/prisma-generate.js';

export default function setup(): void {
  ensurePrismaClient();
}

// The committed results folder of a real run (see test/fixtures/results/README.md).
import { join } from 'node:path';
import { projectRoot } from '../../platform/paths.ts';

export const FIXTURE = join(projectRoot, 'test', 'fixtures', 'results', 'reportfix_2026-11-28');
/** The fixture's one failed experiment (its server failed to start, twice). */
export const FAILED_ID = 'sim-small_chat-b_c0.02gb_r10_lru';

// The old tool's figures on the fixture log pair (test/fixtures/old-simulator/reference.json).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { projectRoot } from '../../platform/paths.ts';
import { LightgbmMode } from '../../offline/lightgbm/train.ts';
import { OldPolicy } from '../../offline/old-simulator/schema.ts';

export const FIXTURE_DIR = join(projectRoot, 'test', 'fixtures', 'old-simulator');
export const SERVER_LOG = join(FIXTURE_DIR, 'server_qwen-8b.log');

const Reference = z.object({
  commands: z.array(z.string()),
  experiments: z.array(
    z.object({
      cache_size_gb: z.number(),
      policy: OldPolicy,
      lightgbm_mode: LightgbmMode.nullable(),
      token_hit_ratio: z.number(),
      hit_ratio: z.number(),
      hit_tokens: z.number().int(),
      lookup_tokens: z.number().int(),
      total_requests: z.number().int(),
      evictions: z.number().int(),
    }),
  ),
});
export type Reference = z.infer<typeof Reference>;

export function loadReference(): Reference {
  return Reference.parse(JSON.parse(readFileSync(join(FIXTURE_DIR, 'reference.json'), 'utf8')));
}

// Provisions the LightGBM trainer's venv (offline/lightgbm/provision.ts) ahead of use, e.g. in CI
// before the tests: `npx tsx scripts/provision-lightgbm.ts`. Cached: a second run takes seconds.
// Exit 0 when ready (prints the Python and LightGBM version), 1 with the reason when not.
import { provisionLightgbm } from '../offline/lightgbm/provision.ts';

try {
  const ready = await provisionLightgbm((line) => console.log(`kvsweep: ${line}`));
  console.log(`kvsweep: LightGBM ${ready.lightgbmVersion} ready (${ready.source}): ${ready.python}`);
} catch (error) {
  console.error(`kvsweep: ${(error as Error).message}`);
  process.exit(1);
}

// When each turn is due: the recorded offsets divided by the replay rate (arrival `trace`), or a
// seeded Poisson process of `rate` requests/s (arrival `poisson`). Shared by the live client and
// the offline replay (offline/), so both schedule a trace the same way.
import { SeededRandom } from './random.ts';

/** The scheduled send time of every turn (by position), in ms after the run start. */
export function scheduleTimes(offsetsMs: ArrayLike<number>, arrival: 'trace' | 'poisson', rate: number, seed: number): Float64Array {
  const times = new Float64Array(offsetsMs.length);
  if (!Number.isFinite(rate)) return times;
  if (arrival === 'trace') {
    for (let i = 0; i < offsetsMs.length; i++) times[i] = offsetsMs[i]! / rate;
    return times;
  }
  const random = new SeededRandom(seed);
  let t = 0;
  for (let i = 0; i < offsetsMs.length; i++) {
    if (i > 0) t += random.exponential(1000 / rate);
    times[i] = t;
  }
  return times;
}

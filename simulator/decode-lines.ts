// Durations of consecutive decode-only steps in closed form (the lines of TimingModel.decodeLines):
// step j lasts overhead + max(memory + memorySlope x j, compute + computeSlope x j), so the time of
// any number of steps is a sum of at most two arithmetic series, and the step in which a given
// instant falls is found by bisection on it. The offline driver runs long stretches of decoding
// this way instead of step by step.
import type { DecodeLines } from './timing.ts';

/** Sum of a + b x j for j in [from, to). */
function series(a: number, b: number, from: number, to: number): number {
  const n = to - from;
  return n <= 0 ? 0 : n * a + (b * (from + to - 1) * n) / 2;
}

/** Duration of step j. */
export function decodeStep(l: DecodeLines, j: number): number {
  return l.overhead + Math.max(l.memory + l.memorySlope * j, l.compute + l.computeSlope * j);
}

/** Duration of steps [0, steps). */
export function decodeSpan(l: DecodeLines, steps: number): number {
  if (steps <= 0) return 0;
  const first = l.memory - l.compute;
  const last = first + (l.memorySlope - l.computeSlope) * (steps - 1);
  let body: number;
  if (first >= 0 && last >= 0) body = series(l.memory, l.memorySlope, 0, steps);
  else if (first <= 0 && last <= 0) body = series(l.compute, l.computeSlope, 0, steps);
  else {
    // The lines cross inside: from the first whole step past the crossing, the other one is higher.
    const cross = Math.min(steps, Math.max(0, Math.ceil((l.compute - l.memory) / (l.memorySlope - l.computeSlope))));
    body =
      first > 0
        ? series(l.memory, l.memorySlope, 0, cross) + series(l.compute, l.computeSlope, cross, steps)
        : series(l.compute, l.computeSlope, 0, cross) + series(l.memory, l.memorySlope, cross, steps);
  }
  return steps * l.overhead + body;
}

/** The fewest steps, at most `max`, whose end is at or after `until` (counting from `start`); `max` if none. */
export function stepsUntil(l: DecodeLines, start: number, until: number, max: number): number {
  if (start + decodeSpan(l, max) < until) return max;
  let low = 1;
  let high = max;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (start + decodeSpan(l, mid) >= until) high = mid;
    else low = mid + 1;
  }
  return low;
}

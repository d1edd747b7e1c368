// Orders in which the pool may consider waiting requests that fit, for the makespan study
// (bench/gpu-hours.ts). Each is a comparator; ties keep arrival order (sorts are stable).

export interface OrderedRequest {
  gpu_count: number;
  /** What the requester expects one attempt to take, when it says. */
  expected_duration_s?: number;
}

export type RequestOrder = (a: OrderedRequest, b: OrderedRequest) => number;

const expected = (r: OrderedRequest) => r.expected_duration_s ?? 0;

export const REQUEST_ORDERS: Readonly<Record<string, RequestOrder>> = {
  /** Oldest first (kvsweep before issue 18). */
  fifo: () => 0,
  /** Longest expected attempt first (LPT: long work is not left for the end). */
  longest: (a, b) => expected(b) - expected(a),
  /** Most GPUs first: a large request is not passed over for a smaller one when it fits. */
  largest: (a, b) => b.gpu_count - a.gpu_count,
  /** Most GPUs first, then the longest. */
  largest_longest: (a, b) => b.gpu_count - a.gpu_count || expected(b) - expected(a),
  /** Longest first, then the most GPUs. */
  longest_largest: (a, b) => expected(b) - expected(a) || b.gpu_count - a.gpu_count,
  /** Most GPU-seconds first. */
  gpu_seconds: (a, b) => b.gpu_count * expected(b) - a.gpu_count * expected(a),
  /** Shortest first: a bad order kept as a reference (it leaves the long work for the end). */
  shortest: (a, b) => expected(a) - expected(b),
};

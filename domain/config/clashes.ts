// Experiments that would clash: one id for two different experiments, or two experiments that
// would run exactly the same thing. One problem per pair of dataset entries, not per experiment.
// Pure and zod-free (see expand.ts).
import type { ExperimentSpec } from '../experiment.ts';
import { formatPath, type ConfigProblem } from './problems.ts';

/**
 * What actually runs: two experiments with the same key start the same server and replay the same
 * trace the same way, whatever their other fields say (e.g. cache sizes in an environment that
 * does not pass the cache size to its server).
 */
export function effectKey(spec: ExperimentSpec): string {
  // Offline, every field but the id and the dataset's name reaches the simulator.
  if (spec.server === null) {
    const { id: _id, dataset, ...rest } = spec;
    return JSON.stringify(['offline', dataset.path, dataset.format, rest]);
  }
  return JSON.stringify([
    spec.server.argv,
    Object.entries(spec.server.env).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    spec.served_model_name,
    spec.gpu_count,
    spec.gpu_class,
    spec.dataset.path,
    spec.request_rate,
    spec.num_prompts,
    spec.time_limit,
    spec.mock_decoding,
    spec.seed,
    spec.client,
  ]);
}

export interface Clash {
  kind: 'id' | 'effect';
  path: ConfigProblem['path'];
  earlier: ConfigProblem['path'];
  /** [earlier id, later id] of each clashing experiment. */
  pairs: Array<[string, string]>;
  differing: Set<string>;
}

/** One problem per pair of dataset entries whose experiments clash, not one per experiment. */
export function clashProblems(file: string, clashes: Clash[]): ConfigProblem[] {
  return clashes.map(({ kind, path, earlier, pairs, differing }) => {
    const [earlierId, laterId] = pairs[0]!;
    const one = pairs.length === 1;
    const where = formatPath(earlier);
    const fields = [...differing].join(', ');
    if (kind === 'effect') {
      const subject = one ? `experiment '${laterId}'` : `${pairs.length} experiments (first: '${laterId}')`;
      return {
        file,
        path,
        message: `${subject} would run exactly what '${earlierId}' of ${where} runs: nothing that differs (${fields}) reaches the server or the client`,
      };
    }
    if (differing.size === 0) {
      const subject = one ? `experiment '${laterId}' is` : `${pairs.length} experiments (first: '${laterId}') are`;
      return { file, path, message: `${subject} already defined by ${where}: the same experiment would run twice` };
    }
    const subject = one
      ? `experiment id '${laterId}' is also the id of an experiment of ${where}, which differs in ${fields}`
      : `${pairs.length} experiment ids (first: '${laterId}') are also ids of experiments of ${where}, which differ in ${fields}`;
    return { file, path, message: subject, hint: 'give one of the two dataset entries a distinct `name:`' };
  });
}

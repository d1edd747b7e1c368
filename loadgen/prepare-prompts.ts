// Everything about the request texts that is settled before the clock starts: the chat template's
// overhead, each trace message planned and counted with the server's tokenizer, and how replies
// that carry reasoning enter the history. None of it runs while the replay does.
import { performance } from 'node:perf_hooks';
import type { ServerAuth } from './auth.ts';
import type { ReplyHistory } from './conversation.ts';
import { ASSUMED_CALIBRATION, PromptBuilder, type PromptCalibration } from './prompt.ts';
import { estimatedMessageSizes, measureWordTable, reportMessageSizes, sizeMessages } from './prompt-sizing.ts';
import type { MessageSizeReport, ReasoningHistory } from './result-schema.ts';
import { calibratePrompts, templateDropsReasoning, tokenizeCount } from './server-api.ts';
import type { TraceTurn } from './trace-parse.ts';

export type ReasoningMode = 'auto' | 'rewrite' | 'verbatim';

export interface PromptSetup {
  root: string;
  model: string;
  seed: number;
  mockDecoding: boolean;
  auth: ServerAuth;
  /** Use POST /tokenize (false: one token per word, nothing checked). */
  tokenize: boolean;
  reasoning: ReasoningMode;
  /** Turns scheduled later than this (ms from the start) are never sent, so not sized; null: all. */
  lastSendableMs: number | null;
  scheduledMs: Float64Array;
  log: (line: string) => void;
}

export interface PreparedPrompts {
  calibration: PromptCalibration;
  /** The run's prompt builder, with the trace's message plans when they could be made. */
  prompts: PromptBuilder;
  /** The same seed and calibration without plans, for synthetic turns (the client warm-up). */
  synthetic: PromptBuilder;
  messages: MessageSizeReport;
  /** The server's count of each turn's message (by turn index); null when not counted. */
  messageTokens: Int32Array | null;
  replies: ReplyHistory;
  reasoning: Omit<ReasoningHistory, 'replies_rewritten'>;
}

export async function preparePrompts(turns: readonly TraceTurn[], setup: PromptSetup): Promise<PreparedPrompts> {
  const { root, model, auth, log } = setup;
  const calibration = setup.tokenize ? await calibratePrompts(root, model, auth) : ASSUMED_CALIBRATION;
  log(`prompt sizes: ${calibration.detail}`);
  const synthetic = new PromptBuilder(setup.seed, calibration);
  let prompts = synthetic;
  let messages: MessageSizeReport;
  let messageTokens: Int32Array | null = null;
  if (!setup.tokenize) {
    messages = estimatedMessageSizes('--no-tokenize: messages sized at one token per word, not counted');
  } else if (calibration.source !== 'tokenize') {
    messages = estimatedMessageSizes(`messages sized at one token per word, not counted: the server's /tokenize did not answer (${calibration.detail})`);
  } else {
    const started = performance.now();
    const count = (text: string): Promise<number> => tokenizeCount(root, { model, prompt: text, add_special_tokens: false }, auth);
    try {
      const table = await measureWordTable(count);
      const last = setup.lastSendableMs;
      const sized = await sizeMessages(turns, setup.seed, setup.mockDecoding, table, count, last === null ? undefined : (i) => setup.scheduledMs[i]! <= last);
      const seconds = (performance.now() - started) / 1000;
      const skipped = turns.length - sized.measured.filter((m) => m >= 0).length;
      const which = skipped > 0 ? `every message that can be sent before the time limit (${skipped} scheduled after it are not)` : 'every message';
      messages = reportMessageSizes(sized, `${which} planned with the server's count of each word and counted with POST /tokenize before the run (${seconds.toFixed(1)} s)`);
      prompts = new PromptBuilder(setup.seed, calibration, sized.plans);
      messageTokens = sized.measured;
    } catch (error) {
      messages = estimatedMessageSizes(`messages sized by the calibration's tokens per word, not counted: sizing with /tokenize failed (${(error as Error).message})`);
    }
  }
  log(`message sizes: ${describeMessages(messages)}`);
  const drops = setup.tokenize ? await templateDropsReasoning(root, model, auth) : { drops: null, detail: 'not measured (--no-tokenize)' };
  // Unknown: rewrite, as the old client always did; a template that keeps reasoning loses the
  // match from the tag on, one that drops it would lose the whole reply.
  const mode = setup.reasoning === 'auto' ? (drops.drops === false ? 'verbatim' : 'rewrite') : setup.reasoning;
  const templateSays = drops.drops === null ? 'unknown' : drops.drops ? 'drops' : 'keeps';
  log(`reasoning in replies: ${mode} (${setup.reasoning === 'auto' ? 'auto: ' : ''}the chat template ${templateSays} the reasoning of earlier replies; ${drops.detail})`);
  return {
    calibration,
    prompts,
    synthetic,
    messages,
    messageTokens,
    replies: { rewriteReasoning: mode === 'rewrite', rewritten: 0 },
    reasoning: { mode, template_drops_reasoning: drops.drops, detail: `${setup.reasoning === 'auto' ? 'chosen by --reasoning-history auto' : `--reasoning-history ${mode}`}; ${drops.detail}` },
  };
}

function describeMessages(m: MessageSizeReport): string {
  if (m.method === 'estimate') return m.detail;
  return `${m.checked} counted with POST /tokenize: ${m.exact} exact, ${m.within_1} within 1 token, mean |error| ${m.mean_abs_error?.toFixed(3) ?? '-'}, max ${m.max_abs_error ?? '-'} tokens`;
}

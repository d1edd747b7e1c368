// Deterministic prompt text of a wanted token count. Words come from a list of common English
// words; where the server offers POST /tokenize, each message's words are planned against the
// server's own count of every word (loadgen/prompt-sizing.ts) before the run, and the chat
// template's overhead is measured; without it, one token per word is assumed. Every conversation
// draws its own words, so different conversations share no prefix beyond the chat template, and
// the same seed gives the same text.
import { SeededRandom, hashString } from './random.ts';

export const WORDS: readonly string[] = (
  'the of and to in is was for on that with as by at from his her it an be are this which or had not but ' +
  'were have one all their there been has when who more no if out so said what up its about into than them ' +
  'can only other new some could time these two may then do first any my now such like our over man me even ' +
  'most made after also did many before must through back years where much your way well down should because ' +
  'each just those people how too little state good very make world still own see men work long get here ' +
  'between both life being under never day same another know while last might us great old year off come ' +
  'since against go came right used take three small large house home water place room number point group ' +
  'city part light night hand high story table paper river music money order field market color plant ' +
  'train window garden summer winter morning letter school word road tree stone fire animal island answer ' +
  'power energy voice ocean forest bridge simple early happy green blue black white red short clear open ' +
  'ready quick quiet strong warm cold dark bright heavy late young free full'
).split(' ');

export interface PromptCalibration {
  /** `tokenize`: measured with the server's /tokenize; `assumed`: one token per word. */
  source: 'tokenize' | 'assumed';
  tokensPerWord: number;
  /** Tokens a text has beyond tokensPerWord x words (start-of-text effects). */
  interceptTokens: number;
  /** Chat-template tokens around a one-message conversation (generation prompt included). */
  templateBaseTokens: number;
  /** Chat-template tokens each further message adds. */
  templatePerMessageTokens: number;
  /** Why the calibration is what it is (e.g. the /tokenize failure). */
  detail: string;
}

export const ASSUMED_CALIBRATION: PromptCalibration = {
  source: 'assumed',
  tokensPerWord: 1,
  interceptTokens: 0,
  templateBaseTokens: 0,
  templatePerMessageTokens: 0,
  detail: 'one token per word assumed',
};

/** The seeded word sequence of one turn's user message. */
export function messageRandom(seed: number, conversationId: string, turn: number): SeededRandom {
  return new SeededRandom(hashString(`${seed}\u0000${conversationId}\u0000${turn}`));
}

/**
 * The words of each trace turn's user message (by turn index), as loadgen/prompt-sizing.ts
 * planned them with the server's tokenizer: the first `words[i]` words of the turn's seeded
 * sequence, then `fill[i]` one-token filler words.
 */
export interface MessagePlans {
  /** -1: no plan for that turn (sized by the calibration). */
  words: Int32Array;
  fill: Uint16Array;
  /** Index in WORDS of the filler word after another word, and of a filler that starts a message. */
  filler: number;
  fillerFirst: number;
}

/** The text of a planned message: `words` words of the sequence, then `fill` fillers. */
export function plannedText(random: SeededRandom, words: number, fill: number, filler: number, fillerFirst: number): string {
  const parts = new Array<string>(words + fill);
  for (let i = 0; i < words; i++) parts[i] = WORDS[random.int(WORDS.length)]!;
  for (let i = words; i < words + fill; i++) parts[i] = WORDS[i === 0 ? fillerFirst : filler]!;
  return parts.join(' ');
}

/** Words of a text for a seed: the generator that both prompts and calibration samples use. */
export function wordsText(random: SeededRandom, count: number): string {
  const parts = new Array<string>(count);
  for (let i = 0; i < count; i++) parts[i] = WORDS[random.int(WORDS.length)]!;
  return parts.join(' ');
}

export class PromptBuilder {
  constructor(
    private readonly seed: number,
    readonly calibration: PromptCalibration,
    /** Exact sizes of the trace's messages; null: every message sized by the calibration. */
    private readonly plans: MessagePlans | null = null,
  ) {}

  /** Words needed for a text of `tokens` tokens under the calibration (at least one). */
  wordsFor(tokens: number): number {
    const { tokensPerWord, interceptTokens } = this.calibration;
    return Math.max(1, Math.round((tokens - interceptTokens) / tokensPerWord));
  }

  /**
   * The user message of one turn: the same text for the same seed, conversation and turn. Trace
   * turn `index` uses its plan when there is one; otherwise the calibration sizes it.
   */
  userMessage(conversationId: string, turn: number, tokens: number, index = -1): string {
    const random = messageRandom(this.seed, conversationId, turn);
    const plans = this.plans;
    if (plans !== null && index >= 0 && index < plans.words.length) {
      const words = plans.words[index]!;
      if (words >= 0) return plannedText(random, words, plans.fill[index]!, plans.filler, plans.fillerFirst);
    }
    return wordsText(random, this.wordsFor(tokens));
  }

  /** What the server should count for a chat of `messages` messages holding `contentTokens`. */
  expectedPromptTokens(contentTokens: number, messages: number): number {
    const { templateBaseTokens, templatePerMessageTokens } = this.calibration;
    return Math.round(contentTokens + templateBaseTokens + templatePerMessageTokens * (messages - 1));
  }
}

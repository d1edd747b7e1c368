// One conversation's side of the replay: building a turn's request from the history as it is,
// and recording a finished request, which extends the history only with what really happened.
import type { ChatOutcome } from './http-chat.ts';
import type { PromptBuilder } from './prompt.ts';
import type { RequestLog } from './request-log.ts';
import type { TraceTurn } from './trace-parse.ts';

export interface Message {
  role: 'user' | 'assistant';
  content: string;
}

export interface Conversation {
  /** Indices of its turns, in order. */
  turns: number[];
  /** Position in `turns` of the turn to send next. */
  next: number;
  messages: Message[];
  /** Tokens aimed for in the messages so far (user targets + replies received). */
  contentTokens: number;
}

/** Each conversation of the trace (by id) and the conversation of each turn (by turn index). */
export function indexConversations(turns: readonly TraceTurn[]): { byId: Map<string, Conversation>; ofTurn: Conversation[] } {
  const byId = new Map<string, Conversation>();
  const ofTurn = new Array<Conversation>(turns.length);
  for (const turn of turns) {
    let conversation = byId.get(turn.conversationId);
    if (!conversation) {
      conversation = { turns: [], next: 0, messages: [], contentTokens: 0 };
      byId.set(turn.conversationId, conversation);
    }
    conversation.turns.push(turn.index);
    ofTurn[turn.index] = conversation;
  }
  return { byId, ofTurn };
}

/** A turn's request, built before its deadline. */
export interface PreparedTurn {
  body: string;
  message: Message;
  queryTokens: number;
  expectedPromptTokens: number;
}

export interface RequestShape {
  model: string;
  prompts: PromptBuilder;
  mockDecoding: boolean;
}

/**
 * How a reply enters the history. A chat template like Qwen3's renders an earlier assistant
 * message without its reasoning (everything up to `</think>`), so the next turn's prompt would
 * leave the server's cached copy of the reply at its first token. With `rewriteReasoning`, the
 * history copy has `</think>` replaced by `<think>` (one token for one, as the old benchmark
 * client did): the template then renders the reply as it was generated up to that tag.
 */
export interface ReplyHistory {
  rewriteReasoning: boolean;
  /** Replies rewritten so far. */
  rewritten: number;
}

const END_OF_REASONING = '</think>';

/** The history copy of a reply. */
export function historyReply(content: string, replies: ReplyHistory | null): string {
  if (replies === null || !replies.rewriteReasoning || !content.includes(END_OF_REASONING)) return content;
  replies.rewritten++;
  return content.replaceAll(END_OF_REASONING, '<think>');
}

/** The request of `turn`: the whole history, then its new user message. */
export function prepareTurn(turn: TraceTurn, conversation: Conversation, shape: RequestShape): PreparedTurn {
  const mock = shape.mockDecoding;
  // Mock decoding: the reply's tokens are prefilled as part of the prompt, one token is decoded.
  const queryTokens = mock ? turn.queryTokens + turn.replyTokens : turn.queryTokens;
  const maxTokens = mock ? 1 : turn.replyTokens;
  const message: Message = { role: 'user', content: shape.prompts.userMessage(turn.conversationId, turn.turn, queryTokens, turn.index) };
  const messages = [...conversation.messages, message];
  const body = JSON.stringify({
    model: shape.model,
    messages,
    stream: true,
    stream_options: { include_usage: true },
    temperature: 0,
    max_completion_tokens: maxTokens,
    min_tokens: maxTokens,
    ignore_eos: true,
    user: turn.conversationId,
  });
  const expectedPromptTokens = shape.prompts.expectedPromptTokens(conversation.contentTokens + queryTokens, messages.length);
  return { body, message, queryTokens, expectedPromptTokens };
}

/**
 * Records a finished request (times relative to `startAt`) and, when it succeeded, appends the
 * exchange to the history: the reply actually received, nothing invented for a failure.
 */
export function recordOutcome(
  log: RequestLog,
  index: number,
  prepared: PreparedTurn,
  outcome: ChatOutcome,
  conversation: Conversation,
  startAt: number,
  replies: ReplyHistory | null = null,
): void {
  log.setSent(index, outcome.sentAt - startAt);
  log.setResponse(index, outcome.httpStatus, outcome.promptTokens, outcome.cachedTokens);
  const times = outcome.chunkTimes;
  log.setChunkTimes(index, outcome.sentAt, times);
  if (outcome.ok) {
    const outputTokens = outcome.completionTokens ?? times.length;
    log.setEnd(index, 'ok', outcome.endAt - outcome.sentAt, outputTokens, null);
    conversation.contentTokens += prepared.queryTokens + outputTokens;
    // The history is kept only while a later turn will send it: at thousands of requests per
    // second, the texts of finished conversations were most of what each young-generation GC
    // had to copy (and its pause grows with that).
    if (conversation.next + 1 < conversation.turns.length) {
      conversation.messages.push(prepared.message, { role: 'assistant', content: historyReply(outcome.content, replies) });
    }
  } else {
    log.setEnd(index, outcome.aborted ? 'aborted' : 'failed', null, times.length > 0 ? (outcome.completionTokens ?? times.length) : null, outcome.error);
  }
}

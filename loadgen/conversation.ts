// One conversation's side of the replay: building a turn's request from the history as it is,
// and recording a finished request, which extends the history only with what really happened.
import type { ChatOutcome } from './http-chat.ts';
import type { PromptBuilder } from './prompt.ts';
import type { RequestRecord } from './result-schema.ts';
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

/** The request of `turn`: the whole history, then its new user message. */
export function prepareTurn(turn: TraceTurn, conversation: Conversation, shape: RequestShape): PreparedTurn {
  const mock = shape.mockDecoding;
  // Mock decoding: the reply's tokens are prefilled as part of the prompt, one token is decoded.
  const queryTokens = mock ? turn.queryTokens + turn.replyTokens : turn.queryTokens;
  const maxTokens = mock ? 1 : turn.replyTokens;
  const message: Message = { role: 'user', content: shape.prompts.userMessage(turn.conversationId, turn.turn, queryTokens) };
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

/** A record for every turn, `not_started` until it is sent. */
export function emptyRecord(turn: TraceTurn, scheduledMs: number, mockDecoding: boolean): RequestRecord {
  return {
    index: turn.index,
    conversation: turn.conversationId,
    turn: turn.turn,
    status: 'not_started',
    scheduled_ms: scheduledMs,
    due_ms: null,
    sent_ms: null,
    send_error_ms: null,
    ttft_ms: null,
    itl_ms: [],
    e2el_ms: null,
    prompt_tokens: null,
    expected_prompt_tokens: null,
    cached_tokens: null,
    output_tokens: null,
    requested_output_tokens: mockDecoding ? 1 : turn.replyTokens,
    http_status: null,
    error: null,
  };
}

/**
 * Fills the record of a finished request (times relative to `startAt`) and, when it succeeded,
 * appends the exchange to the history: the reply actually received, nothing invented for a failure.
 */
export function recordOutcome(record: RequestRecord, prepared: PreparedTurn, outcome: ChatOutcome, conversation: Conversation, startAt: number): void {
  record.sent_ms = outcome.sentAt - startAt;
  record.send_error_ms = record.sent_ms - record.due_ms!;
  record.http_status = outcome.httpStatus;
  record.prompt_tokens = outcome.promptTokens;
  record.cached_tokens = outcome.cachedTokens;
  const times = outcome.chunkTimes;
  if (times.length > 0) {
    record.ttft_ms = times[0]! - outcome.sentAt;
    const itl = new Array<number>(times.length - 1);
    for (let i = 1; i < times.length; i++) itl[i - 1] = times[i]! - times[i - 1]!;
    record.itl_ms = itl;
  }
  if (outcome.ok) {
    record.status = 'ok';
    record.e2el_ms = outcome.endAt - outcome.sentAt;
    record.output_tokens = outcome.completionTokens ?? times.length;
    conversation.contentTokens += prepared.queryTokens + record.output_tokens;
    // The history is kept only while a later turn will send it: at thousands of requests per
    // second, the texts of finished conversations were most of what each young-generation GC
    // had to copy (and its pause grows with that).
    if (conversation.next + 1 < conversation.turns.length) {
      conversation.messages.push(prepared.message, { role: 'assistant', content: outcome.content });
    }
  } else {
    record.status = outcome.aborted ? 'aborted' : 'failed';
    record.error = outcome.error;
    record.output_tokens = times.length > 0 ? (outcome.completionTokens ?? times.length) : null;
  }
}

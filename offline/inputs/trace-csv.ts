// A conversation trace CSV (any dataset of a sweep file) as a request stream: the loader and its
// rules are the load generator's (loadgen/trace.ts), so offline and live replays read the same turns.
import { loadTrace } from '../../loadgen/trace.ts';
import { emptyStream, type RequestStream } from './stream.ts';

export async function readTraceCsv(path: string, numPrompts: number | null): Promise<RequestStream> {
  const trace = await loadTrace(path, { numPrompts });
  const notes: string[] = [];
  if (trace.droppedNonPositiveQuery > 0) notes.push(`${trace.droppedNonPositiveQuery} rows with query length <= 0 dropped`);
  if (trace.defaultedReplyLength > 0) notes.push(`${trace.defaultedReplyLength} rows without a reply length replied 128 tokens`);
  if (trace.raisedReplyLength > 0) notes.push(`${trace.raisedReplyLength} rows with a reply length <= 0 replied 1 token`);
  if (trace.beyondLimit > 0) notes.push(`${trace.beyondLimit} rows beyond num_prompts ${numPrompts} left out`);
  const turns = trace.turns;
  const stream = emptyStream('trace_csv', path, turns.length, notes);
  const numbers = new Map<string, number>();
  for (let i = 0; i < turns.length; i++) {
    const t = turns[i]!;
    let c = numbers.get(t.conversationId);
    if (c === undefined) {
      c = stream.conversationIds.length;
      numbers.set(t.conversationId, c);
      stream.conversationIds.push(t.conversationId);
    }
    stream.conversation[i] = c;
    stream.turn[i] = t.turn;
    stream.offsetMs[i] = t.offsetMs;
    stream.queryTokens[i] = t.queryTokens;
    stream.promptTokens[i] = -1;
    stream.replyTokens[i] = t.replyTokens;
  }
  return stream;
}
